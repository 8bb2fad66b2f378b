using System.Diagnostics;
using Ken.Runtime.Backends;
using Ken.Runtime.Heads;
using Ken.Runtime.Tasks;
using Ken.Runtime.Tokenization;
using Ken.Server.Registry;
using Ken.Server.Telemetry;

namespace Ken.Server.Scheduling;

/// <summary>
/// The thread that serves one weight slot: asks the <see cref="PickPolicy{TTask}"/> what to serve, leases the
/// slot, swaps the task in when it is not a hit, collects a batch and runs it, and records the swap, hit,
/// batch metrics and spans. Only this worker leases its slot, so a slot is never patched during a run.
/// </summary>
internal sealed class SlotWorker
{
    private readonly WeightSlot _slot;
    private readonly IInferenceBackend _backend;
    private readonly TaskRegistry _registry;
    private readonly WorkQueues _queues;
    private readonly BatchCollector _collector;
    private readonly PickPolicy<TaskEntry> _policy;
    private readonly SlotTenants _tenants;
    private readonly KenMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Action _finished;
    private readonly Thread _thread;

    /// <param name="finished">Called under the gate after each batch, once the slot's lease is back.</param>
    public SlotWorker(
        WeightSlot slot,
        IInferenceBackend backend,
        TaskRegistry registry,
        WorkQueues queues,
        BatchCollector collector,
        PickPolicy<TaskEntry> policy,
        SlotTenants tenants,
        KenMetrics metrics,
        ILogger logger,
        Action finished)
    {
        _slot = slot;
        _backend = backend;
        _registry = registry;
        _queues = queues;
        _collector = collector;
        _policy = policy;
        _tenants = tenants;
        _metrics = metrics;
        _logger = logger;
        _finished = finished;
        _thread = new Thread(Work) { IsBackground = true, Name = $"ken-slot-{slot.Index}" };
    }

    public void Start() => _thread.Start();

    public void Join(TimeSpan timeout)
    {
        if (_thread.IsAlive)
        {
            _thread.Join(timeout);
        }
    }

    private void Work()
    {
        while (true)
        {
            TaskQueue queue;
            bool hit;
            SlotLease lease;
            lock (_queues.Gate)
            {
                while (!TryPick(out queue!, out hit))
                {
                    if (_queues.Closed)
                    {
                        return;
                    }

                    Monitor.Wait(_queues.Gate);
                }

                lease = _slot.Enter("scheduled");
                queue.Claimed = true;
            }

            List<InferenceWork>? batch = null;
            try
            {
                var bound = hit ? _slot.Task! : SwapIn(lease, queue);
                batch = _collector.Collect(queue);
                if (batch.Count > 0)
                {
                    if (hit)
                    {
                        _metrics.SlotHit(queue.Entry.Name);
                    }

                    RunBatch(lease, bound, batch);
                }
            }
            catch (Exception ex)
            {
                // A failed swap or run fails the requests it concerned, never the worker.
                _logger.SlotFailed(ex, _slot.Index, queue.Entry.Name);
                batch ??= _collector.Collect(queue);
                foreach (var work in batch)
                {
                    work.Completion.TrySetException(ex);
                }
            }
            finally
            {
                lock (_queues.Gate)
                {
                    queue.Claimed = false;
                    lease.Dispose();
                    _finished();
                    Monitor.PulseAll(_queues.Gate);
                }
            }
        }
    }

    /// <summary>Asks the policy what this slot serves next. Caller holds the gate.</summary>
    private bool TryPick(out TaskQueue? picked, out bool hit)
    {
        picked = null;
        hit = false;
        if (_queues.Closed)
        {
            return false;
        }

        var waiting = new List<QueueView<TaskEntry>>();
        foreach (var queue in _queues.All)
        {
            if (queue.HasFreeWork)
            {
                waiting.Add(new QueueView<TaskEntry>(queue.Entry, queue.Items.Peek().EnqueuedTimestamp, queue.Items.Count));
            }
        }

        if (waiting.Count == 0)
        {
            return false;
        }

        var slots = _backend.Slots;
        var views = new SlotView<TaskEntry>[slots.Count];
        for (var i = 0; i < views.Length; i++)
        {
            var slot = slots[i];
            views[i] = new SlotView<TaskEntry>(slot.Index, _tenants.EntryOf(slot), slot.IsBusy, slot.LastUsedTimestamp);
        }

        if (_policy.Pick(_slot.Index, views, waiting, Stopwatch.GetTimestamp()) is not { } pick)
        {
            return false;
        }

        foreach (var queue in _queues.All)
        {
            if (ReferenceEquals(queue.Entry, pick.Task))
            {
                picked = queue;
                hit = pick.Hit;
                return true;
            }
        }

        return false;
    }

    private BoundTask SwapIn(SlotLease lease, TaskQueue queue)
    {
        var entry = queue.Entry;
        var before = _tenants.EntryOf(_slot);
        using var activity = KenTelemetry.ActivitySource.StartActivity("ken.swap", ActivityKind.Internal, PeekParent(queue));
        activity?.SetTag("ken.task", entry.Name);
        activity?.SetTag("ken.slot", _slot.Index);
        activity?.SetTag("ken.evicted", before?.Name);

        var bound = _registry.HoldInSlot(entry);
        _tenants.Remember(bound, entry);
        var started = Stopwatch.GetTimestamp();
        SwapStats stats;
        try
        {
            stats = _backend.Swap(lease, bound);
        }
        finally
        {
            // Also after a failed swap: the slot record says what the slot holds now (its old task or the base).
            SlotTenants.Settle(_registry, before, entry, _tenants.EntryOf(_slot));
        }

        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        entry.CountSwap();
        _metrics.Swap(entry.Name, seconds);
        activity?.SetTag("ken.values_restored", stats.ValuesRestored);
        activity?.SetTag("ken.values_applied", stats.ValuesApplied);
        _logger.SlotSwapped(_slot.Index, entry.Name, seconds * 1000);
        return bound;
    }

    private ActivityContext PeekParent(TaskQueue queue)
    {
        lock (_queues.Gate)
        {
            return queue.Items.Count > 0 ? queue.Items.Peek().Parent : default;
        }
    }

    private void RunBatch(SlotLease lease, BoundTask bound, List<InferenceWork> batch)
    {
        var count = 0;
        foreach (var work in batch)
        {
            count += work.Texts;
        }

        var texts = new TokenizedText[count];
        var at = 0;
        foreach (var work in batch)
        {
            foreach (var input in work.Inputs)
            {
                texts[at++] = input;
            }
        }

        var entry = batch[0].Entry;
        using var activity = KenTelemetry.ActivitySource.StartActivity("ken.inference", ActivityKind.Internal, batch[0].Parent);
        activity?.SetTag("ken.task", entry.Name);
        activity?.SetTag("ken.slot", _slot.Index);
        activity?.SetTag("ken.batch_size", count);
        _metrics.Batch(entry.Name, count);

        var embeddings = bound.Kind == Ken.Format.Deltas.TaskKind.Embedding ? new List<float[]>(count) : null;
        var classifications = embeddings is null ? new List<ClassificationResult>(count) : null;
        var truncated = new List<bool>(count);
        foreach (var chunk in _collector.Chunks(texts, Math.Max(1, _backend.MaxBatchSize)))
        {
            var output = _backend.Run(lease, bound, chunk);
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
            var n = work.Texts;
            var result = new TaskOutput(
                embeddings?.GetRange(offset, n),
                classifications?.GetRange(offset, n),
                truncated.GetRange(offset, n),
                0);
            offset += n;
            work.Completion.TrySetResult(result);
        }
    }
}
