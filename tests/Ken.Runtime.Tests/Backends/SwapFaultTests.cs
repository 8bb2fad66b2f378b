using Ken.Format.Faults;
using Ken.Runtime.Backends;
using Ken.Runtime.Tests.Backbone;

namespace Ken.Runtime.Tests.Backends;

/// <summary>
/// A switch that fails half way (the <c>swap.mid-switch</c> fault point armed to throw) leaves the slot on
/// the plain base, bit for bit, and the next switch to the same task serves exactly what a clean one does.
/// In the backbone group, so no other test switches a slot while the point is armed.
/// </summary>
[Collection(BackboneTestGroup.Name)]
public sealed class SwapFaultTests(BackboneFixture fixture)
{
    [Fact]
    public void A_task_switch_that_fails_half_way_puts_the_base_back_and_the_next_switch_is_exact()
    {
        var backend = fixture.Backend;
        var a = backend.Bind(fixture.HalfDelta);
        var b = backend.Bind(fixture.RandomDelta);
        var texts = BackboneFixture.Texts;
        try
        {
            backend.Swap(0, b);
            var reference = backend.Run(0, b, texts);
            backend.Swap(0, a);

            // a → b is the fused restore-and-write pass (CpuWeightPatcher.Replace).
            FailHalfWay(backend, b);

            AssertSlotIsBase(backend);
            backend.Swap(0, b);
            Assert.Equal(reference.Embeddings!, backend.Run(0, b, texts).Embeddings!);
        }
        finally
        {
            backend.Swap(0, null);
        }
    }

    [Fact]
    public void A_first_switch_that_fails_half_way_puts_the_base_back_and_the_next_switch_is_exact()
    {
        var backend = fixture.Backend;
        var a = backend.Bind(fixture.HalfDelta);
        var texts = BackboneFixture.Texts;
        try
        {
            backend.Swap(0, a);
            var reference = backend.Run(0, a, texts);
            backend.Swap(0, null);

            // base → a is the plain write pass (CpuWeightPatcher.Apply).
            FailHalfWay(backend, a);

            AssertSlotIsBase(backend);
            backend.Swap(0, a);
            Assert.Equal(reference.Embeddings!, backend.Run(0, a, texts).Embeddings!);
        }
        finally
        {
            backend.Swap(0, null);
        }
    }

    private static void FailHalfWay(PatchingBackend backend, PatchedTask task)
    {
        Exception error;
        using (FaultPoints.Arm(FaultPoints.SwapMidSwitch, FaultAction.Throw))
        {
            error = Assert.ThrowsAny<Exception>(() => backend.Swap(0, task));
        }

        // The patcher's workers report through Parallel.ForEach, which wraps what they throw.
        var injected = error is AggregateException many ? many.Flatten().InnerExceptions.Single() : error;
        Assert.IsType<InjectedFaultException>(injected);
    }

    private static void AssertSlotIsBase(PatchingBackend backend)
    {
        Assert.Null(backend.Slots[0].Task);
        for (var i = 0; i < backend.Tensors.Count; i++)
        {
            Assert.True(backend.SlotWeights(0).Tensor(i).SequenceEqual(backend.Pristine.Tensor(i)), backend.Tensors[i].Name);
        }
    }
}
