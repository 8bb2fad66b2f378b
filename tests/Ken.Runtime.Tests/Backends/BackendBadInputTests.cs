using Ken.Format;
using Ken.Format.Checkpoints;
using Ken.Format.Deltas;
using Ken.Pruning.Pipeline;
using Ken.Runtime.Backends;
using Ken.Runtime.Tasks;
using Ken.Runtime.Tests.Backbone;

namespace Ken.Runtime.Tests.Backends;

[Collection(BackboneTestGroup.Name)]
public sealed class BackendBadInputTests(BackboneFixture fixture)
{
    private const string Query0 = "encoder.layer.0.attention.self.query.weight";

    [Fact]
    public void A_delta_built_against_another_base_is_refused_naming_the_tensor()
    {
        // arctic-xs as the base, minilm as the "fine-tuned" model: same names and shapes, other fingerprints.
        var delta = DeltaBuilder.Build(fixture.ArcticCheckpoint, fixture.MiniLmCheckpoint, new PruneOptions
        {
            Budget = PruneBudget.Fraction(0.5),
            Method = "magnitude",
            Kind = "embedding",
            Include = [new TensorGlob(Query0)],
        }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Single(delta.PatchedTensors);

        var e = Assert.Throws<DeltaMismatchException>(() => fixture.Backend.Bind(delta));
        Assert.Contains(Query0, e.Message, StringComparison.Ordinal);
        Assert.Contains("ken prune --base minilm", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_delta_naming_a_tensor_the_backbone_lacks_is_refused()
    {
        var delta = Delta(new PatchedTensor("encoder.layer.9.attention.self.query.weight", [384, 384], new byte[384 * 384 / 8], [], TensorDType.F32, 0));
        var e = Assert.Throws<DeltaMismatchException>(() => fixture.Backend.Bind(delta));
        Assert.Contains("encoder.layer.9.attention.self.query.weight", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_delta_with_the_wrong_shape_is_refused()
    {
        var delta = Delta(new PatchedTensor(Query0, [384, 383], new byte[384 * 383 / 8], [], TensorDType.F32, 0));
        var e = Assert.Throws<DeltaMismatchException>(() => fixture.Backend.Bind(delta));
        Assert.Contains("[384, 383]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_text_is_a_user_error()
    {
        var task = fixture.Backend.Bind(Delta());
        fixture.Backend.Swap(0, task);
        try
        {
            Assert.Throws<KenException>(() => fixture.Backend.Run(0, task, ["fine", " "]));
        }
        finally
        {
            fixture.Backend.Swap(0, null);
        }
    }

    [Fact]
    public void A_batch_over_the_maximum_is_a_user_error()
    {
        var task = fixture.Backend.Bind(Delta());
        fixture.Backend.Swap(0, task);
        try
        {
            var texts = Enumerable.Repeat("text", fixture.Backend.MaxBatchSize + 1).ToArray();
            Assert.Throws<KenException>(() => fixture.Backend.Run(0, task, texts));
        }
        finally
        {
            fixture.Backend.Swap(0, null);
        }
    }

    [Fact]
    public void A_text_longer_than_the_model_maximum_is_truncated_and_still_runs()
    {
        var task = fixture.Backend.Bind(Delta());
        fixture.Backend.Swap(0, task);
        try
        {
            var longText = string.Join(' ', Enumerable.Repeat("word", fixture.Backend.MaxSequenceLength + 50));
            var output = fixture.Backend.Run(0, task, ["short", longText]);

            Assert.Equal([false, true], output.Truncated);
            Assert.All(output.Embeddings!, e => Assert.All(e, v => Assert.True(float.IsFinite(v))));
            Assert.Equal(fixture.Backend.MaxSequenceLength + 3, output.Tokens);
        }
        finally
        {
            fixture.Backend.Swap(0, null);
        }
    }

    [Fact]
    public void A_classification_delta_without_a_classifier_is_refused()
    {
        var metadata = Metadata() with { Kind = TaskKind.Classification, Labels = ["a", "b"] };
        Assert.Throws<KenException>(() => fixture.Backend.Bind(new KenDelta(metadata, [], [])));
    }

    [Fact]
    public void A_classifier_with_the_wrong_label_count_is_refused()
    {
        var metadata = Metadata() with { Kind = TaskKind.Classification, Labels = ["a", "b"] };
        HeadTensor[] heads = [new("classifier.weight", [3, 384], new float[3 * 384], TensorDType.F32), new("classifier.bias", [3], new float[3], TensorDType.F32)];
        Assert.Throws<DeltaMismatchException>(() => fixture.Backend.Bind(new KenDelta(metadata, [], heads)));
    }

    internal static KenDeltaMetadata Metadata() => new()
    {
        Task = "synthetic",
        Kind = TaskKind.Embedding,
        Pooling = PoolingMode.Cls,
        Normalize = true,
        Keep = 0.5,
        Method = "magnitude",
        CreatedBy = "tests",
    };

    internal static KenDelta Delta(params PatchedTensor[] patched) => new(Metadata(), patched, []);
}
