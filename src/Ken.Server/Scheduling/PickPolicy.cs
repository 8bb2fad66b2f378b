namespace Ken.Server.Scheduling;

/// <summary>
/// Decides what a free slot serves next. A plain function of the slots, the waiting tasks and the time it is
/// given: no threads, no clock, no locks.
/// </summary>
/// <remarks>
/// A free slot takes, in this order:
/// <list type="number">
/// <item>its own task, if that task has waiting work (a slot hit, no swap);</item>
/// <item>otherwise the waiting task with the highest priority
/// <c>wait × (1 + log2(1 + queued requests))</c>, where <c>wait</c> is how long its oldest request
/// has waited, skipping tasks that another free slot already holds (that slot serves them as a hit).
/// The swap goes to the least recently used free slot (empty slots first), so only that slot takes it.
/// Age grows without bound while the queue-length factor is bounded by the queue limit, so no task
/// starves.</item>
/// </list>
/// </remarks>
internal sealed class PickPolicy<TTask>
    where TTask : class
{
    private static readonly EqualityComparer<TTask> Same = EqualityComparer<TTask>.Default;
    private readonly double _ticksPerSecond;

    /// <param name="ticksPerSecond">Units of the timestamps given to <see cref="Pick"/> (e.g. <see cref="System.Diagnostics.Stopwatch.Frequency"/>).</param>
    public PickPolicy(long ticksPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ticksPerSecond, 1);
        _ticksPerSecond = ticksPerSecond;
    }

    /// <summary>What slot <paramref name="slot"/> (a free one) should serve now; null: nothing, or another slot should.</summary>
    /// <param name="slot">The index, in <paramref name="slots"/>, of the free slot asking.</param>
    /// <param name="slots">Every slot, by index.</param>
    /// <param name="waiting">Tasks with waiting work that no slot is serving yet.</param>
    /// <param name="now">The current time, in the units of <see cref="QueueView{TTask}.OldestEnqueued"/>.</param>
    public SlotPick<TTask>? Pick(int slot, IReadOnlyList<SlotView<TTask>> slots, IReadOnlyList<QueueView<TTask>> waiting, long now)
    {
        ArgumentNullException.ThrowIfNull(slots);
        ArgumentNullException.ThrowIfNull(waiting);
        var me = slots[slot];
        if (me.Held is { } held && IsWaiting(held, waiting))
        {
            return new SlotPick<TTask>(held, Hit: true);
        }

        TTask? best = null;
        var bestScore = double.NegativeInfinity;
        foreach (var queue in waiting)
        {
            if (HeldByOtherFreeSlot(queue.Task, slots, slot))
            {
                continue;
            }

            var waitSeconds = (now - queue.OldestEnqueued) / _ticksPerSecond;
            var score = (waitSeconds + 1e-6) * (1 + Math.Log2(1 + queue.Requests));
            if (score > bestScore)
            {
                bestScore = score;
                best = queue.Task;
            }
        }

        if (best is null)
        {
            return null;
        }

        // Only the least recently used free slot swaps, so the hottest slots keep their tasks.
        foreach (var other in slots)
        {
            if (other.Index == slot || other.Busy || (other.Held is { } otherHeld && IsWaiting(otherHeld, waiting)))
            {
                continue;
            }

            if (EvictBefore(other, me))
            {
                return null;
            }
        }

        return new SlotPick<TTask>(best, Hit: false);
    }

    /// <summary>Whether <paramref name="a"/> should be evicted before <paramref name="b"/>: empty first, then least recently used.</summary>
    internal static bool EvictBefore(SlotView<TTask> a, SlotView<TTask> b)
    {
        if ((a.Held is null) != (b.Held is null))
        {
            return a.Held is null;
        }

        return a.LastUsed != b.LastUsed ? a.LastUsed < b.LastUsed : a.Index < b.Index;
    }

    private static bool IsWaiting(TTask task, IReadOnlyList<QueueView<TTask>> waiting)
    {
        foreach (var queue in waiting)
        {
            if (Same.Equals(queue.Task, task))
            {
                return true;
            }
        }

        return false;
    }

    private static bool HeldByOtherFreeSlot(TTask task, IReadOnlyList<SlotView<TTask>> slots, int me)
    {
        foreach (var slot in slots)
        {
            if (slot.Index != me && !slot.Busy && slot.Held is { } held && Same.Equals(held, task))
            {
                return true;
            }
        }

        return false;
    }
}
