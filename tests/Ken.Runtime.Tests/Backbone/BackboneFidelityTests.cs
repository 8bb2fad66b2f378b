using Ken.Format.Deltas;
using Ken.Format.Checkpoints.Onnx;
using Ken.Runtime.Heads;
using Ken.Runtime.Tests.Backends;
using Microsoft.ML.OnnxRuntime;

namespace Ken.Runtime.Tests.Backbone;

/// <summary>A task served through a patched slot equals the model it stands for.</summary>
[Collection(BackboneTestGroup.Name)]
public sealed class BackboneFidelityTests(BackboneFixture fixture)
{
    private const float Tolerance = 1e-4f;

    [Fact]
    public void A_full_delta_served_on_minilm_gives_arctic_xs_own_embeddings()
    {
        var backend = fixture.Backend;
        var task = backend.Bind(fixture.FullDelta);
        backend.Swap(0, task);
        try
        {
            var served = backend.Run(0, task, BackboneFixture.Texts).Embeddings!;

            using var arctic = new InferenceSession(fixture.Arctic.ModelPath);
            var expected = ReferenceEncoder.ClsNormalized(arctic, fixture.Arctic.VocabPath, BackboneFixture.Texts);

            Assert.InRange(ReferenceEncoder.MaxAbsDiff(expected, served), 0f, Tolerance);
        }
        finally
        {
            backend.Swap(0, null);
        }
    }

    [Fact]
    public void A_half_delta_equals_a_fresh_session_over_the_reconstructed_weights()
    {
        var served = AssertServedEqualsFreshSession(fixture.HalfDelta);

        // Half of the fine-tuning is not the fine-tuned model: the comparison is not vacuous.
        using var arctic = new InferenceSession(fixture.Arctic.ModelPath);
        var arcticOwn = ReferenceEncoder.ClsNormalized(arctic, fixture.Arctic.VocabPath, BackboneFixture.Texts);
        Assert.True(ReferenceEncoder.MaxAbsDiff(arcticOwn, served) > Tolerance);
    }

    [Fact]
    public void A_random_delta_equals_a_fresh_session_over_the_reconstructed_weights()
    {
        // The half delta above is a magnitude selection; this one is the seeded random control.
        Assert.Equal("random", fixture.RandomDelta.Metadata.Method);
        AssertServedEqualsFreshSession(fixture.RandomDelta);
    }

    [Fact]
    public void A_block16_delta_equals_a_fresh_session_over_the_reconstructed_weights()
    {
        // Block deltas take the patcher's group-list path: blocks follow the stored layout (16 rows at
        // one position of a transposed MatMul weight, 16 elements of a row elsewhere), so every bound
        // mask is whole bytes; the served output must still be exactly the reconstructed model's.
        var delta = fixture.Block16Delta;
        long kept = 0;
        foreach (var patched in delta.PatchedTensors)
        {
            kept += patched.KeptCount;
        }

        var bound = fixture.Backend.Bind(delta);
        Assert.All(bound.Patches.Patches, p => Assert.True(p.Groups is not null, $"{p.Name}: the bound mask is not whole 8-element groups"));
        Assert.True(kept > 0);
        AssertServedEqualsFreshSession(delta);
    }

    private IReadOnlyList<float[]> AssertServedEqualsFreshSession(KenDelta delta)
    {
        var backend = fixture.Backend;
        var task = backend.Bind(delta);
        backend.Swap(0, task);
        try
        {
            var served = backend.Run(0, task, BackboneFixture.Texts).Embeddings!;

            var reconstructed = new Dictionary<string, float[]>(StringComparer.Ordinal);
            foreach (var patched in delta.PatchedTensors)
            {
                var weights = new float[patched.ElementCount];
                fixture.MiniLmCheckpoint.ReadFloat32(patched.Name, weights);
                patched.ApplyTo(weights);
                reconstructed[patched.Name] = weights;
            }

            using var fresh = new InferenceSession(OnnxModelRewriter.WithInitializers(fixture.MiniLmCheckpoint, reconstructed));
            var expected = ReferenceEncoder.ClsNormalized(fresh, fixture.MiniLm.VocabPath, BackboneFixture.Texts);

            Assert.InRange(ReferenceEncoder.MaxAbsDiff(expected, served), 0f, Tolerance);
            return served;
        }
        finally
        {
            backend.Swap(0, null);
        }
    }

    [Fact]
    public void The_plain_base_slot_equals_the_original_minilm_model()
    {
        var backend = fixture.Backend;
        var (hidden, _, batchSize, sequence) = backend.RunRaw(1, BackboneFixture.Texts);
        var pooled = new float[batchSize * backend.HiddenSize];
        Pooling.Cls(hidden, batchSize, sequence, backend.HiddenSize, pooled);
        Pooling.NormalizeL2(pooled, batchSize, backend.HiddenSize);
        var served = new float[batchSize][];
        for (var b = 0; b < batchSize; b++)
        {
            served[b] = pooled.AsSpan(b * backend.HiddenSize, backend.HiddenSize).ToArray();
        }

        using var original = new InferenceSession(fixture.MiniLm.ModelPath);
        var expected = ReferenceEncoder.ClsNormalized(original, fixture.MiniLm.VocabPath, BackboneFixture.Texts);
        Assert.InRange(ReferenceEncoder.MaxAbsDiff(expected, served), 0f, Tolerance);
    }
}
