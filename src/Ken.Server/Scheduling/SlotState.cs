using Ken.Runtime.Backends;
using Ken.Server.Registry;

namespace Ken.Server.Scheduling;

/// <summary>What the scheduler knows about one weight slot. Guarded by the scheduler's gate.</summary>
internal sealed class SlotState
{
    public SlotState(int index) => Index = index;

    public int Index { get; }

    /// <summary>The entry whose delta the slot holds; null for the plain base.</summary>
    public TaskEntry? HeldEntry { get; set; }

    /// <summary>The exact bound delta in the slot (the entry may have been re-bound since).</summary>
    public BoundTask? HeldBound { get; set; }

    public bool Busy { get; set; }

    public long LastUsedTimestamp { get; set; }
}
