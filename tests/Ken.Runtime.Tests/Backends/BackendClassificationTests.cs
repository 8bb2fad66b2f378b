using Ken.Format.Checkpoints;
using Ken.Format.Deltas;
using Ken.Runtime.Heads;
using Ken.Runtime.Tests.Backbone;

namespace Ken.Runtime.Tests.Backends;

[Collection(BackboneTestGroup.Name)]
public sealed class BackendClassificationTests(BackboneFixture fixture)
{
    private static readonly string[] Labels = ["negative", "neutral", "positive"];

    [Fact]
    public void A_synthetic_classifier_on_the_graph_pooler_gives_label_probabilities()
    {
        var backend = fixture.Backend;
        var hidden = backend.HiddenSize;
        var random = new Random(3);
        var weight = new float[Labels.Length * hidden];
        var bias = new float[Labels.Length];
        for (var i = 0; i < weight.Length; i++)
        {
            weight[i] = (float)((random.NextDouble() * 2) - 1);
        }

        bias[2] = 0.5f;
        var metadata = BackendBadInputTests.Metadata() with { Kind = TaskKind.Classification, Labels = Labels, Pooling = PoolingMode.Pooler, Normalize = false };
        HeadTensor[] heads =
        [
            new("classifier.weight", [Labels.Length, hidden], weight, TensorDType.F32),
            new("classifier.bias", [Labels.Length], bias, TensorDType.F32),
        ];
        Assert.True(backend.HasPoolerOutput);
        var task = backend.Bind(new KenDelta(metadata, [], heads));
        Assert.Equal(Labels, task.Labels);

        backend.Swap(1, task);
        try
        {
            var output = backend.Run(1, task, BackboneFixture.Texts);
            Assert.Null(output.Embeddings);
            var results = output.Classifications!;
            Assert.Equal(BackboneFixture.Texts.Count, results.Count);

            // Expected: BERT's pooler computed by hand from minilm's pooler.dense, then the classifier.
            var raw = backend.RunRaw(1, BackboneFixture.Texts);
            var poolerWeight = new float[hidden * hidden];
            var poolerBias = new float[hidden];
            fixture.MiniLmCheckpoint.ReadFloat32("pooler.dense.weight", poolerWeight);
            fixture.MiniLmCheckpoint.ReadFloat32("pooler.dense.bias", poolerBias);
            var pooled = new float[raw.BatchSize * hidden];
            Pooling.Pooler(raw.Hidden, raw.BatchSize, raw.SequenceLength, hidden, new DenseLayer("pooler.dense", poolerWeight, poolerBias, hidden), pooled);
            var expected = new ClassificationHead(Labels, weight, bias, hidden).Classify(pooled, raw.BatchSize);

            for (var b = 0; b < results.Count; b++)
            {
                Assert.Equal(Labels.Length, results[b].Scores.Length);
                Assert.Equal(1f, results[b].Scores.Sum(), 1e-5f);
                Assert.Equal(Labels[results[b].LabelIndex], results[b].Label);
                for (var l = 0; l < Labels.Length; l++)
                {
                    Assert.Equal(expected[b].Scores[l], results[b].Scores[l], 1e-4f);
                }
            }
        }
        finally
        {
            backend.Swap(1, null);
        }
    }
}
