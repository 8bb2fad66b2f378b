namespace Ken.Server.Scheduling;

/// <summary>
/// Decides what a free executor serves next and on which weight slot. A plain function of the slots, the
/// waiting tasks and the time it is given: no threads, no clock, no locks.
/// </summary>
/// <remarks>
/// A free executor takes, in this order:
/// <list type="number">
/// <item>a waiting task that a free slot already holds (a hit, no swap), the most urgent first by
/// <c>wait × (1 + log2(1 + queued requests))</c>, where <c>wait</c> is how long its oldest request has waited;
/// unless a task no free slot holds has waited the hit preference longer than that hit's oldest request:
/// then it goes first, so steady hits cannot starve it;</item>
/// <item>otherwise the waiting task with the highest swap-aware priority: the urgency above times
/// <c>requests / (requests + switch bytes / bytes per request)</c>, so a switch that moves few bytes or
/// serves many requests goes before one that moves a whole weight set for one request (a lone request of a
/// task that a busy slot holds waits for that slot instead, unless it waited past the hit preference). The factor is
/// bounded below and age is not, so no task starves. It swaps into the victim slot: a free slot holding
/// no waiting work, empty first, then the one whose task is least popular now (a decayed request count,
/// so frequency with aging, not recency alone, keeps the hot tasks of a skewed load), then the least
/// recently used.</item>
/// </list>
/// <see cref="PickPrefetch"/> makes the same miss choice while every executor is busy, so an idle slot
/// can switch to the next task before an executor is free to run it.
/// </remarks>
internal sealed class PickPolicy<TTask>
    where TTask : class
{
    /// <summary>Default bytes of a switch that cost about as much as serving one request (a 2-core CPU switches a full MiniLM copy in the time of ~3 requests).</summary>
    public const long DefaultSwitchBytesPerRequest = 32L << 20;

    private static readonly EqualityComparer<TTask> Same = EqualityComparer<TTask>.Default;
    private readonly double _ticksPerSecond;
    private readonly double _switchBytesPerRequest;
    private readonly long _hitPreferenceTicks;

    /// <param name="ticksPerSecond">Units of the timestamps given to <see cref="Pick"/> (e.g. <see cref="System.Diagnostics.Stopwatch.Frequency"/>).</param>
    /// <param name="switchBytesPerRequest">Switch bytes that weigh as much as one queued request.</param>
    /// <param name="hitPreference">How long a task no free slot holds may wait while hits go first; null: 100 ms.</param>
    public PickPolicy(long ticksPerSecond, long switchBytesPerRequest = DefaultSwitchBytesPerRequest, TimeSpan? hitPreference = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ticksPerSecond, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(switchBytesPerRequest, 1);
        _ticksPerSecond = ticksPerSecond;
        _switchBytesPerRequest = switchBytesPerRequest;
        _hitPreferenceTicks = (long)((hitPreference ?? TimeSpan.FromMilliseconds(100)).TotalSeconds * ticksPerSecond);
    }

    /// <summary>What a free executor should serve now and where; null: nothing it can serve.</summary>
    /// <param name="slots">Every slot, by index.</param>
    /// <param name="waiting">Tasks with waiting work that no executor is serving yet.</param>
    /// <param name="now">The current time, in the units of <see cref="QueueView{TTask}.OldestEnqueued"/>.</param>
    public SlotPick<TTask>? Pick(IReadOnlyList<SlotView<TTask>> slots, IReadOnlyList<QueueView<TTask>> waiting, long now)
    {
        ArgumentNullException.ThrowIfNull(slots);
        ArgumentNullException.ThrowIfNull(waiting);
        if (waiting.Count == 0)
        {
            return null;
        }

        // Hits first, unless a task no free slot holds has waited the hit preference longer than the hit's
        // oldest request: steady hits must not starve it, but under overload, when every queue is old,
        // hits still go first (comparing with a fixed age alone would turn the scheduler into FIFO then).
        if (BestHit(slots, waiting, now, out var hitOldest) is { } hit)
        {
            var starving = OldestMissBefore(slots, waiting, hitOldest - _hitPreferenceTicks);
            if (starving < 0)
            {
                return hit;
            }

            // The starving task goes now, whatever its switch costs.
            var starvingVictim = Victim(slots, waiting);
            return starvingVictim < 0 ? null : new SlotPick<TTask>(slots[starvingVictim].Index, waiting[starving].Task, Hit: false);
        }

        var best = BestMiss(slots, waiting, now, skipHeldByAny: false);
        if (best < 0)
        {
            return null;
        }

        var victim = Victim(slots, waiting);
        return victim < 0 ? null : new SlotPick<TTask>(slots[victim].Index, waiting[best].Task, Hit: false);
    }

    /// <summary>
    /// While every executor is busy: which idle slot should switch now, and to what, so that the next free
    /// executor finds a hit. Only tasks no slot holds (a slot running one will be free soon), and only into
    /// a slot holding no waiting work; null: nothing worth switching.
    /// </summary>
    public SlotPick<TTask>? PickPrefetch(IReadOnlyList<SlotView<TTask>> slots, IReadOnlyList<QueueView<TTask>> waiting, long now)
    {
        ArgumentNullException.ThrowIfNull(slots);
        ArgumentNullException.ThrowIfNull(waiting);
        var best = BestMiss(slots, waiting, now, skipHeldByAny: true);
        if (best < 0)
        {
            return null;
        }

        var victim = Victim(slots, waiting);
        return victim < 0 || HoldsWaiting(slots[victim], waiting) ? null : new SlotPick<TTask>(slots[victim].Index, waiting[best].Task, Hit: false);
    }

    /// <summary>
    /// Whether <paramref name="a"/> should be evicted before <paramref name="b"/>: empty first, then the less
    /// popular task, then the least recently used, then the lower index.
    /// </summary>
    internal static bool EvictBefore(SlotView<TTask> a, SlotView<TTask> b)
    {
        if ((a.Held is null) != (b.Held is null))
        {
            return a.Held is null;
        }

        if (a.Popularity != b.Popularity)
        {
            return a.Popularity < b.Popularity;
        }

        return a.LastUsed != b.LastUsed ? a.LastUsed < b.LastUsed : a.Index < b.Index;
    }

    /// <summary>The free slot to swap into: one holding no waiting work if any, else (a starving task) any free slot; -1: none free.</summary>
    internal static int Victim(IReadOnlyList<SlotView<TTask>> slots, IReadOnlyList<QueueView<TTask>> waiting)
    {
        var victim = -1;
        var victimHoldsWaiting = false;
        for (var i = 0; i < slots.Count; i++)
        {
            var slot = slots[i];
            if (slot.Busy)
            {
                continue;
            }

            var holdsWaiting = HoldsWaiting(slot, waiting);
            if (victim < 0 || (victimHoldsWaiting && !holdsWaiting) || (victimHoldsWaiting == holdsWaiting && EvictBefore(slot, slots[victim])))
            {
                victim = i;
                victimHoldsWaiting = holdsWaiting;
            }
        }

        return victim;
    }

    private SlotPick<TTask>? BestHit(IReadOnlyList<SlotView<TTask>> slots, IReadOnlyList<QueueView<TTask>> waiting, long now, out long oldest)
    {
        SlotPick<TTask>? best = null;
        oldest = now;
        var bestScore = double.NegativeInfinity;
        foreach (var queue in waiting)
        {
            var slot = FreeSlotHolding(queue.Task, slots);
            if (slot < 0)
            {
                continue;
            }

            var score = Urgency(queue, now);
            if (score > bestScore)
            {
                bestScore = score;
                best = new SlotPick<TTask>(slots[slot].Index, queue.Task, Hit: true);
                oldest = queue.OldestEnqueued;
            }
        }

        return best;
    }

    /// <summary>Index in <paramref name="waiting"/> of the oldest task no free slot holds whose oldest request came at or before <paramref name="cutoff"/>; -1: none.</summary>
    private static int OldestMissBefore(IReadOnlyList<SlotView<TTask>> slots, IReadOnlyList<QueueView<TTask>> waiting, long cutoff)
    {
        var oldest = -1;
        for (var i = 0; i < waiting.Count; i++)
        {
            if (waiting[i].OldestEnqueued <= cutoff && FreeSlotHolding(waiting[i].Task, slots) < 0
                && (oldest < 0 || waiting[i].OldestEnqueued < waiting[oldest].OldestEnqueued))
            {
                oldest = i;
            }
        }

        return oldest;
    }

    /// <summary>Index in <paramref name="waiting"/> of the best task to swap in; -1: none.</summary>
    private int BestMiss(IReadOnlyList<SlotView<TTask>> slots, IReadOnlyList<QueueView<TTask>> waiting, long now, bool skipHeldByAny)
    {
        var best = -1;
        var bestScore = double.NegativeInfinity;
        for (var i = 0; i < waiting.Count; i++)
        {
            var queue = waiting[i];
            if (FreeSlotHolding(queue.Task, slots) >= 0 || (skipHeldByAny && AnySlotHolding(queue.Task, slots)))
            {
                continue;
            }

            // A lone request of a task a busy slot holds waits for that slot (a hit in a moment) rather than
            // copying the task into a second slot; more work, or a long wait, is worth the second copy.
            if (queue.Requests < 2 && now - queue.OldestEnqueued < _hitPreferenceTicks && AnySlotHolding(queue.Task, slots))
            {
                continue;
            }

            var score = SwapAwareScore(queue, now);
            if (score > bestScore)
            {
                bestScore = score;
                best = i;
            }
        }

        return best;
    }

    /// <summary>How urgent a task's work is: its oldest request's wait, more with more requests (bounded by the queue limit).</summary>
    internal double Urgency(QueueView<TTask> queue, long now)
    {
        var waitSeconds = Math.Max(0, now - queue.OldestEnqueued) / _ticksPerSecond;
        return (waitSeconds + 1e-6) * (1 + Math.Log2(1 + queue.Requests));
    }

    /// <summary>Urgency times the share of useful work in what a switch to the task costs (in request equivalents).</summary>
    internal double SwapAwareScore(QueueView<TTask> queue, long now)
    {
        var requests = Math.Max(1, queue.Requests);
        var switchCost = queue.SwitchBytes / _switchBytesPerRequest;
        return Urgency(queue, now) * requests / (requests + switchCost);
    }

    private static bool HoldsWaiting(SlotView<TTask> slot, IReadOnlyList<QueueView<TTask>> waiting)
    {
        if (slot.Held is not { } held)
        {
            return false;
        }

        foreach (var queue in waiting)
        {
            if (Same.Equals(queue.Task, held))
            {
                return true;
            }
        }

        return false;
    }

    private static int FreeSlotHolding(TTask task, IReadOnlyList<SlotView<TTask>> slots)
    {
        for (var i = 0; i < slots.Count; i++)
        {
            if (!slots[i].Busy && slots[i].Held is { } held && Same.Equals(held, task))
            {
                return i;
            }
        }

        return -1;
    }

    private static bool AnySlotHolding(TTask task, IReadOnlyList<SlotView<TTask>> slots)
    {
        foreach (var slot in slots)
        {
            if (slot.Held is { } held && Same.Equals(held, task))
            {
                return true;
            }
        }

        return false;
    }
}
