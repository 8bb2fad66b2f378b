using Ken.Format.Deltas;
using Ken.Runtime.Tests.Backbone;

namespace Ken.Runtime.Tests.Backends;

/// <summary>Swaps are exact: every restore gives the base back bit for bit, every apply the same task.</summary>
[Collection(BackboneTestGroup.Name)]
public sealed class SwapTests(BackboneFixture fixture)
{
    [Fact]
    public void Base_then_a_then_b_then_a_gives_identical_a_outputs_and_restoring_gives_the_base_back()
    {
        var backend = fixture.Backend;
        var a = backend.Bind(fixture.HalfDelta);
        var b = backend.Bind(fixture.RandomDelta);
        var texts = BackboneFixture.Texts;
        var baseline = backend.RunRaw(0, texts).Hidden;
        try
        {
            backend.Swap(0, a);
            var a1 = backend.RunRaw(0, texts).Hidden;
            var a1Output = backend.Run(0, a, texts);
            backend.Swap(0, b);
            var bOutput = backend.RunRaw(0, texts).Hidden;
            backend.Swap(0, a);
            var a2 = backend.RunRaw(0, texts).Hidden;
            var a2Output = backend.Run(0, a, texts);

            Assert.Equal(a1, a2);
            Assert.Equal(a1Output.Embeddings!, a2Output.Embeddings!);
            Assert.NotEqual(baseline, a1);
            Assert.NotEqual(a1, bOutput);

            backend.Swap(0, null);
            Assert.Null(backend.Slots[0].Task);
            Assert.Equal(baseline, backend.RunRaw(0, texts).Hidden);
        }
        finally
        {
            backend.Swap(0, null);
        }

        // The buffers themselves are back to pristine, not just close enough to give the same output.
        for (var i = 0; i < backend.Tensors.Count; i++)
        {
            Assert.True(backend.SlotWeights(0).Tensor(i).SequenceEqual(backend.Pristine.Tensor(i)), backend.Tensors[i].Name);
        }
    }

    [Fact]
    public void Swap_stats_count_the_values_of_each_task()
    {
        var backend = fixture.Backend;
        var delta = fixture.HalfDelta;
        var task = backend.Bind(delta);
        long kept = 0;
        foreach (var patched in delta.PatchedTensors)
        {
            kept += patched.KeptCount;
        }

        var applied = backend.Swap(0, task);
        var restored = backend.Swap(0, null);

        Assert.Equal(0, applied.ValuesRestored);
        Assert.Equal(kept, applied.ValuesApplied);
        Assert.Equal(kept, restored.ValuesRestored);
        Assert.Equal(0, restored.ValuesApplied);
        Assert.True(task.ResidentBytes > kept * sizeof(float));
    }

    [Fact]
    public void Every_bound_weight_buffer_is_read_by_the_graph()
    {
        // NaN rather than an offset: some weights provably do not change the output under a finite
        // perturbation (a constant added to an embedding row vanishes in LayerNorm; a key bias cancels
        // in softmax), but a NaN anywhere the graph reads reaches the output.
        var backend = fixture.Backend;
        var weights = backend.SlotWeights(1);
        string[] texts = ["a short text"];
        var baseline = backend.RunRaw(1, texts);
        for (var i = 0; i < backend.Tensors.Count; i++)
        {
            var buffer = weights.Tensor(i);
            buffer.Fill(float.NaN);
            try
            {
                var (hidden, pooled, _, _) = backend.RunRaw(1, texts);
                Assert.True(HasNonFinite(hidden) || (pooled is not null && HasNonFinite(pooled)), $"{backend.Tensors[i].Name} is not read by the bound graph");
            }
            finally
            {
                backend.Pristine.Tensor(i).CopyTo(buffer);
            }
        }

        var after = backend.RunRaw(1, texts);
        Assert.Equal(baseline.Hidden, after.Hidden);
        Assert.Equal(baseline.Pooled, after.Pooled);
    }

    [Fact]
    public void A_busy_slot_is_never_patched_or_run()
    {
        var backend = fixture.Backend;
        var task = backend.Bind(fixture.HalfDelta);
        var slot = backend.Slots[1];
        Assert.True(slot.TryEnter(out var lease));
        try
        {
            Assert.Throws<InvalidOperationException>(() => backend.Swap(1, task));
            Assert.Throws<InvalidOperationException>(() => backend.RunRaw(1, BackboneFixture.Texts));
        }
        finally
        {
            lease.Dispose();
        }

        Assert.Null(backend.Slots[1].Task);
    }

    [Fact]
    public void Running_a_task_the_slot_does_not_hold_is_refused()
    {
        var backend = fixture.Backend;
        var task = backend.Bind(fixture.HalfDelta);
        Assert.Throws<InvalidOperationException>(() => backend.Run(1, task, BackboneFixture.Texts));
    }

    private static bool HasNonFinite(float[] values)
    {
        foreach (var v in values)
        {
            if (!float.IsFinite(v))
            {
                return true;
            }
        }

        return false;
    }
}
