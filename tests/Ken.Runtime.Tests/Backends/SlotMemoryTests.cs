using Ken.Runtime.Backbone;
using Ken.Runtime.Backends;
using Ken.Runtime.Tests.Backbone;

namespace Ken.Runtime.Tests.Backends;

/// <summary>Slots as a cache bounded by bytes, and the switch bytes a bound task reports.</summary>
[Collection(BackboneTestGroup.Name)]
public sealed class SlotMemoryTests(BackboneFixture fixture)
{
    [Fact]
    public void Slot_memory_makes_as_many_slots_as_fit_and_at_least_one()
    {
        var slotBytes = fixture.Backend.SlotBytes;
        var options = new BackboneOptions { ModelPath = "unused", VocabPath = "unused", Slots = 7 };

        Assert.Equal(2, (options with { SlotMemory = (5 * slotBytes) / 2 }).SlotCountFor(slotBytes));
        Assert.Equal(1, (options with { SlotMemory = slotBytes / 2 }).SlotCountFor(slotBytes));
        Assert.Equal(7, options.SlotCountFor(slotBytes));

        // Slots that hold no weights of their own (resident) are counted, not sized.
        Assert.Equal(7, (options with { SlotMemory = slotBytes }).SlotCountFor(0));

        using var backend = PatchingBackend.Load(new BackboneOptions
        {
            ModelPath = fixture.MiniLm.ModelPath,
            VocabPath = fixture.MiniLm.VocabPath,
            SlotMemory = (3 * slotBytes) - 1,
            MaxBatchSize = 1,
        });
        Assert.Equal(2, backend.SlotCount);
    }

    [Fact]
    public void A_patched_task_reports_the_lines_its_switch_moves()
    {
        var backend = fixture.Backend;
        var full = backend.Bind(fixture.FullDelta);
        var half = backend.Bind(fixture.HalfDelta);

        // Every value of every patched weight: every line of them (weights are whole lines here).
        long patchedBytes = 0;
        foreach (var patch in full.Patches.Patches)
        {
            patchedBytes += (long)patch.ElementCount * sizeof(float);
        }

        Assert.Equal(patchedBytes, full.SwitchBytes);
        Assert.True(half.SwitchBytes <= full.SwitchBytes);
        Assert.True(half.SwitchBytes > 0);
    }
}
