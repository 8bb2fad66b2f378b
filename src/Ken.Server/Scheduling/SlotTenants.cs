using System.Runtime.CompilerServices;
using Ken.Runtime.Backends;
using Ken.Runtime.Tasks;
using Ken.Server.Registry;

namespace Ken.Server.Scheduling;

/// <summary>
/// Which registry entry each bound task was swapped in for, so that the runtime's slot records (which
/// know bound tasks only) read as entries; and how the registry's slot holds follow a swap.
/// </summary>
internal sealed class SlotTenants
{
    // Weak: a bound task the registry and every slot forgot needs no entry.
    private readonly ConditionalWeakTable<BoundTask, TaskEntry> _entries = [];

    /// <summary>The entry whose delta <paramref name="slot"/> holds; null for the plain base.</summary>
    public TaskEntry? EntryOf(WeightSlot slot) =>
        slot.Task is { } task && _entries.TryGetValue(task, out var entry) ? entry : null;

    /// <summary>Remembers that <paramref name="task"/> is <paramref name="entry"/>'s, before it goes into a slot.</summary>
    public void Remember(BoundTask task, TaskEntry entry) => _entries.AddOrUpdate(task, entry);

    /// <summary>
    /// Settles the registry's slot holds after a swap of a slot from <paramref name="before"/> towards
    /// <paramref name="target"/>, which was held (<see cref="ISlotHoldings.HoldInSlot"/>) before the swap so
    /// that nothing could evict it meanwhile. <paramref name="after"/> is what the slot holds now: the
    /// target after a swap that worked; the old task or the base after one that failed.
    /// </summary>
    public static void Settle(ISlotHoldings holdings, TaskEntry? before, TaskEntry target, TaskEntry? after)
    {
        if (!ReferenceEquals(after, target))
        {
            holdings.ReleaseFromSlot(target);
        }

        if (before is not null && !ReferenceEquals(before, after))
        {
            holdings.ReleaseFromSlot(before);
        }
        else if (before is not null && ReferenceEquals(before, target))
        {
            // The slot already held the target: the hold taken for the swap is one too many.
            holdings.ReleaseFromSlot(target);
        }
    }
}
