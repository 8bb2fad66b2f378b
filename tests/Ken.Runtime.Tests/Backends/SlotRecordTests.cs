using Ken.Format.Deltas;
using Ken.Runtime.Backends;
using Ken.Runtime.Tasks;
using Ken.Runtime.Tests.Backbone;

namespace Ken.Runtime.Tests.Backends;

/// <summary>The runtime's slot record says what a slot holds and counts its swaps and runs; leases guard it.</summary>
[Collection(BackboneTestGroup.Name)]
public sealed class SlotRecordTests(BackboneFixture fixture)
{
    [Fact]
    public void A_slot_records_the_task_it_holds_and_counts_swaps_and_runs()
    {
        var backend = fixture.Backend;
        var slot = backend.Slots[0];
        var task = backend.Bind(BackendBadInputTests.Delta());
        var swaps = slot.SwapCount;
        var runs = slot.RunCount;
        try
        {
            backend.Swap(0, task);
            Assert.Same(task, slot.Task);
            backend.Swap(0, task);
            backend.Run(0, task, ["one text"]);
            Assert.Equal(swaps + 1, slot.SwapCount);
            Assert.Equal(runs + 1, slot.RunCount);
            Assert.False(slot.IsBusy);
        }
        finally
        {
            backend.Swap(0, null);
        }

        Assert.Null(slot.Task);
        Assert.Equal(swaps + 2, slot.SwapCount);
    }

    [Fact]
    public void A_released_lease_or_another_backends_lease_cannot_swap()
    {
        var backend = fixture.Backend;
        Assert.True(backend.Slots[1].TryEnter(out var lease));
        Assert.True(backend.Slots[1].IsBusy);
        lease.Dispose();
        Assert.False(backend.Slots[1].IsBusy);
        Assert.Throws<InvalidOperationException>(() => backend.Swap(lease, null));

        var foreign = new WeightSlot(1);
        using var foreignLease = foreign.Enter("swapped");
        Assert.Throws<ArgumentException>(() => backend.Swap(foreignLease, null));
    }

    [Fact]
    public void A_task_another_backend_bound_is_refused_with_a_clear_exception()
    {
        IInferenceBackend backend = fixture.Backend;
        var stranger = new StrangerTask(new TaskSpec(BackendBadInputTests.Metadata(), Ken.Runtime.Heads.TaskHeads.None));
        using var lease = backend.Slots[1].Enter("swapped");
        var e = Assert.Throws<ArgumentException>(() => backend.Swap(lease, stranger));
        Assert.Contains("call Bind on this backend", e.Message, StringComparison.Ordinal);
        Assert.Null(backend.Slots[1].Task);
    }

    private sealed class StrangerTask(TaskSpec spec) : BoundTask(spec, 0);
}
