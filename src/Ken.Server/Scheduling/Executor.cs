using System.Diagnostics;
using System.Runtime.CompilerServices;
using Ken.Runtime.Backends;
using Ken.Runtime.Heads;
using Ken.Runtime.Tasks;
using Ken.Runtime.Tokenization;
using Ken.Server.Registry;
using Ken.Server.Telemetry;

namespace Ken.Server.Scheduling;

/// <summary>
/// One of the threads that run batches (<c>--executors</c>): asks the <see cref="PickPolicy{TTask}"/> which
/// task to serve on which weight slot, leases that slot, swaps the task in when it is not a hit, collects a
/// batch and runs it, and records the swap, hit, batch metrics and spans. Slots are leased only under the
/// queues' gate and only when free, so a slot is never patched during a run.
/// </summary>
internal sealed class Executor
{
    private readonly int _index;
    private readonly IInferenceBackend _backend;
    private readonly SlotSwitcher _switcher;
    private readonly WorkQueues _queues;
    private readonly BatchCollector _collector;
    private readonly PickPolicy<TaskEntry> _policy;
    private readonly SlotTenants _tenants;
    private readonly TaskPopularity<TaskEntry> _popularity;
    private readonly KenMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Action _finished;
    private readonly Thread _thread;
    private long _lastFinished;

    /// <param name="finished">Called under the gate after each batch, once the slot's lease is back.</param>
    public Executor(
        int index,
        IInferenceBackend backend,
        SlotSwitcher switcher,
        WorkQueues queues,
        BatchCollector collector,
        PickPolicy<TaskEntry> policy,
        SlotTenants tenants,
        TaskPopularity<TaskEntry> popularity,
        KenMetrics metrics,
        ILogger logger,
        Action finished)
    {
        _index = index;
        _backend = backend;
        _switcher = switcher;
        _queues = queues;
        _collector = collector;
        _policy = policy;
        _tenants = tenants;
        _popularity = popularity;
        _metrics = metrics;
        _logger = logger;
        _finished = finished;
        _thread = new Thread(Work) { IsBackground = true, Name = $"ken-executor-{index}" };
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
        while (ServeNext())
        {
        }
    }

    /// <summary>
    /// Waits for work, serves one batch; false once the queues close. A method of its own so that nothing
    /// the batch used (its bound task, its requests) stays reachable from an idle executor's stack.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool ServeNext()
    {
        TaskQueue queue;
        WeightSlot slot;
        bool hit;
        SlotLease lease;
        long cycleStart;
        lock (_queues.Gate)
        {
            var waited = false;
            while (!TryPick(out queue!, out slot!, out hit))
            {
                if (_queues.Closed)
                {
                    return false;
                }

                Monitor.Wait(_queues.Gate);
                waited = true;
            }

            // Busy back to back, a batch's cycle starts when the previous one finished: the service rate the
            // queue sees then includes everything between two batches, CPU taken by other threads too.
            cycleStart = waited || _lastFinished == 0 ? Stopwatch.GetTimestamp() : _lastFinished;

            // Free: the policy saw it so under the gate, and only the gate's holders lease slots.
            lease = slot.Enter("scheduled");
            queue.Claimed = true;
            _queues.BeginRun(_index, queue.Entry, switching: !hit);
        }

        List<InferenceWork>? batch = null;
        TaskOutput[]? outputs = null;
        Exception? failure = null;
        double switchSeconds = -1;
        var runTexts = 0;
        try
        {
            var started = Stopwatch.GetTimestamp();
            var bound = hit ? slot.Task! : SwapIn(lease, queue);
            if (!hit)
            {
                switchSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            }

            batch = _collector.Collect(queue, _index);
            if (batch.Count > 0)
            {
                if (hit)
                {
                    _metrics.SlotHit(queue.Entry.Name);
                }

                outputs = RunBatch(lease, bound, batch);
                foreach (var work in batch)
                {
                    runTexts += work.Texts;
                }
            }
        }
        catch (Exception ex)
        {
            // A failed swap or run fails the requests it concerned, never the worker.
            _logger.SlotFailed(ex, slot.Index, queue.Entry.Name);
            batch ??= _collector.Collect(queue);
            failure = ex;
        }
        finally
        {
            lock (_queues.Gate)
            {
                // The measured rates that admission estimates queue waits from.
                if (switchSeconds >= 0)
                {
                    _queues.Estimator.ObserveSwitch(switchSeconds);
                }

                var finished = Stopwatch.GetTimestamp();
                if (outputs is not null)
                {
                    _queues.Estimator.ObserveRun(runTexts, Stopwatch.GetElapsedTime(cycleStart, finished).TotalSeconds - Math.Max(0, switchSeconds));
                }

                _lastFinished = finished;
                _queues.EndRun(_index);

                queue.Claimed = false;
                lease.Dispose();
                _finished();
                Monitor.PulseAll(_queues.Gate);
            }
        }

        // Replies go out once the slot is free again, so a caller's next request never finds its slot still leased.
        Complete(batch, outputs, failure);
        return true;
    }

    private static void Complete(List<InferenceWork>? batch, TaskOutput[]? outputs, Exception? failure)
    {
        if (batch is null)
        {
            return;
        }

        for (var i = 0; i < batch.Count; i++)
        {
            if (failure is not null || outputs is null)
            {
                batch[i].Completion.TrySetException(failure ?? new InvalidOperationException("the batch produced no output"));
            }
            else
            {
                batch[i].Completion.TrySetResult(new ServedOutput(outputs[i], batch[i].QueueWait));
            }
        }
    }

    /// <summary>Asks the policy what this executor serves next, and where. Caller holds the gate.</summary>
    private bool TryPick(out TaskQueue? picked, out WeightSlot? slot, out bool hit)
    {
        picked = null;
        slot = null;
        hit = false;
        if (_queues.Closed)
        {
            return false;
        }

        var now = Stopwatch.GetTimestamp();
        var waiting = SchedulingViews.Waiting(_queues, _backend.SlotBytes);
        if (waiting.Count == 0)
        {
            return false;
        }

        var views = SchedulingViews.Slots(_backend.Slots, _tenants, _popularity, now);
        if (_policy.Pick(views, waiting, now) is not { } pick)
        {
            return false;
        }

        picked = SchedulingViews.QueueOf(_queues, pick.Task);
        slot = _backend.Slots[pick.Slot];
        hit = pick.Hit;
        return picked is not null;
    }

    private BoundTask SwapIn(SlotLease lease, TaskQueue queue)
    {
        ActivityContext parent;
        lock (_queues.Gate)
        {
            parent = queue.Items.Count > 0 ? queue.Items.Peek().Parent : default;
        }

        return _switcher.SwapIn(lease, queue.Entry, parent);
    }

    /// <summary>Runs the batch on the leased slot; the outputs, one per request, in batch order.</summary>
    private TaskOutput[] RunBatch(SlotLease lease, BoundTask bound, List<InferenceWork> batch)
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
        activity?.SetTag("ken.slot", lease.Index);
        activity?.SetTag("ken.executor", _index);
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

        var outputs = new TaskOutput[batch.Count];
        var offset = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            var n = batch[i].Texts;
            outputs[i] = new TaskOutput(
                embeddings?.GetRange(offset, n),
                classifications?.GetRange(offset, n),
                truncated.GetRange(offset, n),
                0);
            offset += n;
        }

        return outputs;
    }
}
