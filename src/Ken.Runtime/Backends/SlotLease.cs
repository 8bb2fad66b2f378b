using Ken.Runtime.Tasks;

namespace Ken.Runtime.Backends;

/// <summary>
/// The right to swap and run one <see cref="WeightSlot"/> until disposed. Backends take it instead of a slot
/// number, so a slot is never patched while someone else runs it; only the holder records what the slot holds.
/// </summary>
public sealed class SlotLease : IDisposable
{
    private int _released;

    internal SlotLease(WeightSlot slot) => Slot = slot;

    public WeightSlot Slot { get; }

    public int Index => Slot.Index;

    public bool IsActive => Volatile.Read(ref _released) == 0;

    /// <summary>Records that the slot's weights now hold <paramref name="task"/> (null: the plain base).</summary>
    public void Hold(BoundTask? task)
    {
        ThrowIfReleased();
        Slot.Hold(task);
    }

    /// <summary>Counts one completed swap on the slot.</summary>
    public void CountSwap()
    {
        ThrowIfReleased();
        Slot.CountSwap();
    }

    /// <summary>Counts one batch run on the slot.</summary>
    public void CountRun()
    {
        ThrowIfReleased();
        Slot.CountRun();
    }

    /// <summary>
    /// The slot's index in <paramref name="slots"/>; throws when the lease was released or is for a slot of
    /// another backend.
    /// </summary>
    public int IndexIn(IReadOnlyList<WeightSlot> slots)
    {
        ArgumentNullException.ThrowIfNull(slots);
        ThrowIfReleased();
        if ((uint)Index >= (uint)slots.Count || !ReferenceEquals(slots[Index], Slot))
        {
            throw new ArgumentException($"the lease is for slot {Index} of another backend; take a lease on one of this backend's slots");
        }

        return Index;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            Slot.Exit();
        }
    }

    private void ThrowIfReleased()
    {
        if (!IsActive)
        {
            throw new InvalidOperationException($"the lease on slot {Index} was released; take a new one with WeightSlot.Enter");
        }
    }
}
