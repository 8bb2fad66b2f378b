using System.Diagnostics;
using Ken.Runtime.Backends;

using Ken.Server.Hosting;
using Ken.Server.Registry;
using Ken.Server.Telemetry;

namespace Ken.Server.Scheduling;

/// <summary>
/// Per-task queues served by one worker thread per weight slot.
/// </summary>
/// <remarks>
/// When a slot is free it takes, in this order:
/// <list type="number">
/// <item>its own task, if that task has waiting work (a slot hit, no swap);</item>
/// <item>otherwise the waiting task with the highest priority
/// <c>wait × (1 + log2(1 + queued requests))</c>, where <c>wait</c> is how long its oldest request
/// has waited, skipping tasks that another free slot already holds (that slot serves them as a hit).
/// The swap goes to the least recently used free slot (empty slots first), so only that slot's worker
/// takes it. Age grows without bound while the queue-length factor is bounded by <c>--max-queue</c>,
/// so no task starves.</item>
/// </list>
/// A slot then waits up to <c>--batch-window-ms</c> (from its task's oldest request) for the batch
/// to fill to <c>--max-batch</c> texts. Requests whose deadline passed or whose caller gave up are
/// dropped before they run. Each slot is swapped and run only by its own worker, so a slot is never
/// patched during a run.
/// </remarks>
public sealed class SlotScheduler : IDisposable
{
    private readonly object _gate = new();
    private readonly IInferenceBackend _backend;
    private readonly TaskRegistry _registry;
    private readonly KenMetrics _metrics;
    private readonly ILogger<SlotScheduler> _logger;
    private readonly Dictionary<TaskEntry, TaskQueue> _queues = new(ReferenceEqualityComparer.Instance);
    private readonly SlotState[] _slots;
    private readonly Thread[] _workers;
    private readonly int _maxBatch;
    private readonly int _maxQueue;
    private readonly long _windowTicks;
    private int _queued;
    private bool _stopping;
    private bool _disposed;

    public SlotScheduler(IInferenceBackend backend, TaskRegistry registry, KenServerOptions options, KenMetrics metrics, ILogger<SlotScheduler> logger)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(options);
        _backend = backend;
        _registry = registry;
        _metrics = metrics;
        _logger = logger;
        _maxBatch = Math.Max(1, Math.Min(options.MaxBatch, backend.MaxBatchSize));
        _maxQueue = options.MaxQueue;
        _windowTicks = options.BatchWindowMs * Stopwatch.Frequency / 1000;
        var slotCount = Math.Max(1, backend.SlotCount);
        _slots = new SlotState[slotCount];
        _workers = new Thread[slotCount];
        for (var i = 0; i < slotCount; i++)
        {
            _slots[i] = new SlotState(i);
            var slot = _slots[i];
            _workers[i] = new Thread(() => Work(slot)) { IsBackground = true, Name = $"ken-slot-{i}" };
        }

        metrics.ObserveQueueDepth(() => Volatile.Read(ref _queued));
    }

    public int SlotCount => _slots.Length;

    public int QueueDepth => Volatile.Read(ref _queued);

    /// <summary>Bytes of weight slots that hold a task.</summary>
    public long MaterializedBytes
    {
        get
        {
            var held = 0;
            lock (_gate)
            {
                foreach (var slot in _slots)
                {
                    if (slot.HeldEntry is not null)
                    {
                        held++;
                    }
                }
            }

            return held * _backend.SlotBytes;
        }
    }

    public void Start()
    {
        foreach (var worker in _workers)
        {
            worker.Start();
        }
    }

    /// <summary>
    /// Queues <paramref name="texts"/> for <paramref name="entry"/> (admitted by the registry) and
    /// completes with that request's output.
    /// </summary>
    public Task<TaskOutput> SubmitAsync(TaskEntry entry, IReadOnlyList<string> texts, DateTime? deadlineUtc, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var work = new InferenceWork(entry, texts, deadlineUtc, Activity.Current?.Context ?? default, cancellationToken);
        lock (_gate)
        {
            if (_stopping)
            {
                throw new ServerShuttingDownException();
            }

            if (_queued >= _maxQueue)
            {
                throw new ServerOverloadedException($"server overloaded: {_queued} requests are queued (limit {_maxQueue}); retry with backoff, or spread load across replicas.");
            }

            if (!_queues.TryGetValue(entry, out var queue))
            {
                queue = new TaskQueue(entry);
                _queues.Add(entry, queue);
            }

            work.QueueActivity = StartDetached("ken.queue", ActivityKind.Internal, work.Parent);
            queue.Items.Enqueue(work);
            queue.Texts += texts.Count;
            _queued++;
            Monitor.PulseAll(_gate);
        }

        return work.Completion.Task;
    }

    /// <summary>Refuses new work from now on (UNAVAILABLE); admitted work still runs.</summary>
    public void StopAdmitting()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Waits until every admitted request has finished or <paramref name="cancellationToken"/> fires.</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            lock (_gate)
            {
                if (_queued == 0 && !AnyBusy())
                {
                    return;
                }
            }

            try
            {
                await Task.Delay(10, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        lock (_gate)
        {
            _logger.LogWarning("Shutdown timeout: {Queued} queued requests did not finish", _queued);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            _disposed = true;
            Monitor.PulseAll(_gate);
        }

        foreach (var worker in _workers)
        {
            if (worker.IsAlive)
            {
                worker.Join(TimeSpan.FromSeconds(5));
            }
        }
    }

    private void Work(SlotState slot)
    {
        while (true)
        {
            TaskQueue queue;
            bool hit;
            lock (_gate)
            {
                while (!TryPick(slot, out queue!, out hit))
                {
                    if (_disposed)
                    {
                        return;
                    }

                    Monitor.Wait(_gate);
                }

                slot.Busy = true;
                queue.Claimed = true;
            }

            List<InferenceWork>? batch = null;
            try
            {
                var bound = hit ? slot.HeldBound! : SwapIn(slot, queue);
                batch = CollectBatch(queue);
                if (batch.Count > 0)
                {
                    if (hit)
                    {
                        _metrics.SlotHit(queue.Entry.Name);
                    }

                    RunBatch(slot, bound, batch);
                }
            }
            catch (Exception ex)
            {
                // A failed swap or run fails the requests it concerned, never the worker.
                _logger.LogError(ex, "Slot {Slot} failed serving task {Task}", slot.Index, queue.Entry.Name);
                batch ??= CollectBatch(queue);
                foreach (var work in batch)
                {
                    Finish(work, null, ex);
                }
            }
            finally
            {
                lock (_gate)
                {
                    queue.Claimed = false;
                    slot.Busy = false;
                    slot.LastUsedTimestamp = Stopwatch.GetTimestamp();
                    Monitor.PulseAll(_gate);
                }
            }
        }
    }

    /// <summary>Decides what <paramref name="slot"/> serves next (see the class remarks). Caller holds the gate.</summary>
    private bool TryPick(SlotState slot, out TaskQueue? picked, out bool hit)
    {
        picked = null;
        hit = false;
        if (_disposed)
        {
            return false;
        }

        if (slot.HeldEntry is { } held && _queues.TryGetValue(held, out var own) && HasFreeWork(own))
        {
            picked = own;
            hit = true;
            return true;
        }

        var now = Stopwatch.GetTimestamp();
        var bestScore = double.NegativeInfinity;
        foreach (var queue in _queues.Values)
        {
            if (!HasFreeWork(queue) || HeldByOtherFreeSlot(queue.Entry, slot))
            {
                continue;
            }

            var waitSeconds = (double)(now - queue.Items.Peek().EnqueuedTimestamp) / Stopwatch.Frequency;
            var score = (waitSeconds + 1e-6) * (1 + Math.Log2(1 + queue.Items.Count));
            if (score > bestScore)
            {
                bestScore = score;
                picked = queue;
            }
        }

        if (picked is null)
        {
            return false;
        }

        // Only the least recently used free slot swaps, so the hottest slots keep their tasks.
        foreach (var other in _slots)
        {
            if (other == slot || other.Busy)
            {
                continue;
            }

            if (other.HeldEntry is { } otherHeld && _queues.TryGetValue(otherHeld, out var otherQueue) && HasFreeWork(otherQueue))
            {
                continue;
            }

            if (Prefer(other, slot))
            {
                picked = null;
                return false;
            }
        }

        return true;
    }

    private static bool HasFreeWork(TaskQueue queue) => !queue.Claimed && queue.Items.Count > 0;

    private bool HeldByOtherFreeSlot(TaskEntry entry, SlotState me)
    {
        foreach (var slot in _slots)
        {
            if (slot != me && !slot.Busy && ReferenceEquals(slot.HeldEntry, entry))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether <paramref name="a"/> should be evicted before <paramref name="b"/>.</summary>
    private static bool Prefer(SlotState a, SlotState b)
    {
        if ((a.HeldEntry is null) != (b.HeldEntry is null))
        {
            return a.HeldEntry is null;
        }

        return a.LastUsedTimestamp != b.LastUsedTimestamp ? a.LastUsedTimestamp < b.LastUsedTimestamp : a.Index < b.Index;
    }

    private bool AnyBusy()
    {
        foreach (var slot in _slots)
        {
            if (slot.Busy)
            {
                return true;
            }
        }

        return false;
    }

    private BoundTask SwapIn(SlotState slot, TaskQueue queue)
    {
        var entry = queue.Entry;
        var first = PeekParent(queue);
        using var activity = KenTelemetry.ActivitySource.StartActivity("ken.swap", ActivityKind.Internal, first);
        activity?.SetTag("ken.task", entry.Name);
        activity?.SetTag("ken.slot", slot.Index);
        activity?.SetTag("ken.evicted", slot.HeldEntry?.Name);

        var bound = _registry.HoldInSlot(entry);
        var started = Stopwatch.GetTimestamp();
        SwapStats stats;
        try
        {
            stats = _backend.Swap(slot.Index, bound);
        }
        catch
        {
            _registry.ReleaseFromSlot(entry);
            throw;
        }

        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        lock (_gate)
        {
            if (slot.HeldEntry is { } previous)
            {
                _registry.ReleaseFromSlot(previous);
            }

            slot.HeldEntry = entry;
            slot.HeldBound = bound;
        }

        entry.CountSwap();
        _metrics.Swap(entry.Name, seconds);
        activity?.SetTag("ken.values_restored", stats.ValuesRestored);
        activity?.SetTag("ken.values_applied", stats.ValuesApplied);
        _logger.LogDebug("Slot {Slot} swapped to {Task} in {Ms:F2} ms", slot.Index, entry.Name, seconds * 1000);
        return bound;
    }

    private ActivityContext PeekParent(TaskQueue queue)
    {
        lock (_gate)
        {
            return queue.Items.Count > 0 ? queue.Items.Peek().Parent : default;
        }
    }

    /// <summary>Waits for the batching window, then takes up to max-batch texts of live requests.</summary>
    private List<InferenceWork> CollectBatch(TaskQueue queue)
    {
        var batch = new List<InferenceWork>();
        lock (_gate)
        {
            while (queue.Items.Count > 0 && queue.Texts < _maxBatch && !_stopping)
            {
                var remaining = queue.Items.Peek().EnqueuedTimestamp + _windowTicks - Stopwatch.GetTimestamp();
                if (remaining <= 0)
                {
                    break;
                }

                Monitor.Wait(_gate, TimeSpan.FromSeconds((double)remaining / Stopwatch.Frequency));
            }

            var texts = 0;
            while (queue.Items.Count > 0)
            {
                var next = queue.Items.Peek();

                // A batch never splits a request; one larger than max-batch runs alone, in chunks.
                if (batch.Count > 0 && texts + next.Texts.Count > _maxBatch)
                {
                    break;
                }

                queue.Items.Dequeue();
                queue.Texts -= next.Texts.Count;
                _queued--;
                next.QueueActivity?.Stop();
                _metrics.QueueWait(queue.Entry.Name, Stopwatch.GetElapsedTime(next.EnqueuedTimestamp).TotalSeconds);
                if (next.IsExpired)
                {
                    // The caller already has (or will get) DEADLINE_EXCEEDED or CANCELLED; running it would waste the slot.
                    next.Completion.TrySetCanceled(next.CancellationToken.IsCancellationRequested ? next.CancellationToken : CancellationToken.None);
                    continue;
                }

                batch.Add(next);
                texts += next.Texts.Count;
            }

            if (queue.Items.Count == 0)
            {
                // Safe while this worker still claims it: a later request for the task starts a new queue.
                _queues.Remove(queue.Entry);
            }

            Monitor.PulseAll(_gate);
        }

        return batch;
    }

    private void RunBatch(SlotState slot, BoundTask bound, List<InferenceWork> batch)
    {
        var texts = new List<string>();
        foreach (var work in batch)
        {
            texts.AddRange(work.Texts);
        }

        var entry = batch[0].Entry;
        using var activity = KenTelemetry.ActivitySource.StartActivity("ken.inference", ActivityKind.Internal, batch[0].Parent);
        activity?.SetTag("ken.task", entry.Name);
        activity?.SetTag("ken.slot", slot.Index);
        activity?.SetTag("ken.batch_size", texts.Count);
        _metrics.Batch(entry.Name, texts.Count);

        var embeddings = bound.Kind == Ken.Format.Deltas.TaskKind.Embedding ? new List<float[]>(texts.Count) : null;
        var classifications = embeddings is null ? new List<ClassificationResult>(texts.Count) : null;
        var truncated = new List<bool>(texts.Count);
        var chunk = Math.Max(1, _backend.MaxBatchSize);
        for (var start = 0; start < texts.Count; start += chunk)
        {
            var part = start == 0 && texts.Count <= chunk ? texts : texts.GetRange(start, Math.Min(chunk, texts.Count - start));
            var output = _backend.Run(slot.Index, bound, part);
            if (embeddings is not null)
            {
                embeddings.AddRange(output.Embeddings ?? throw new InvalidOperationException("the backend returned no embeddings for an embedding task"));
            }
            else
            {
                classifications!.AddRange(output.Classifications ?? throw new InvalidOperationException("the backend returned no classifications for a classification task"));
            }

            truncated.AddRange(output.Truncated);
        }

        var offset = 0;
        foreach (var work in batch)
        {
            var n = work.Texts.Count;
            var result = new TaskOutput(
                embeddings?.GetRange(offset, n),
                classifications?.GetRange(offset, n),
                truncated.GetRange(offset, n),
                0);
            offset += n;
            Finish(work, result, null);
        }
    }

    private static void Finish(InferenceWork work, TaskOutput? output, Exception? error)
    {
        if (error is not null)
        {
            work.Completion.TrySetException(error);
        }
        else
        {
            work.Completion.TrySetResult(output!);
        }
    }

    private static Activity? StartDetached(string name, ActivityKind kind, ActivityContext parent)
    {
        var previous = Activity.Current;
        var activity = KenTelemetry.ActivitySource.StartActivity(name, kind, parent);

        // The queue span ends on a slot worker; it must not become the caller's current activity.
        Activity.Current = previous;
        return activity;
    }
}
