using System.Runtime.CompilerServices;
using Ken.Runtime.Backends;
using Ken.Runtime.Tasks;
using Ken.Server.Registry;

namespace Ken.Server.Scheduling;

/// <summary>
/// Which registry entry each bound task was swapped in for, so that the runtime's slot records (which
/// know bound tasks only) read as entries; and each entry's count of slots holding it (its slot tier).
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

    /// <summary>Moves the slot-tier count from <paramref name="before"/> to <paramref name="after"/> when a slot changed hands.</summary>
    public static void Moved(TaskEntry? before, TaskEntry? after)
    {
        if (ReferenceEquals(before, after))
        {
            return;
        }

        if (before is not null)
        {
            Interlocked.Decrement(ref before.SlotCount);
        }

        if (after is not null)
        {
            Interlocked.Increment(ref after.SlotCount);
        }
    }
}
