using System.Diagnostics;
using Ken.Runtime.Backends;
using Ken.Runtime.Tasks;
using Ken.Server.Registry;
using Ken.Server.Telemetry;

namespace Ken.Server.Scheduling;

/// <summary>
/// Per-task queues served by <see cref="SchedulerOptions.Executors"/> <see cref="Executor"/> threads over the
/// backend's weight slots: requests are tokenized on admission, queued in <see cref="WorkQueues"/>, counted
/// in <see cref="TaskPopularity{TTask}"/>, picked (task and slot) by <see cref="PickPolicy{TTask}"/> and
/// gathered into batches by <see cref="BatchCollector"/>; a <see cref="Prefetcher"/> switches idle slots
/// ahead while every executor is busy.
/// </summary>
public sealed class SlotScheduler : IDisposable
{
    private readonly IInferenceBackend _backend;
    private readonly WorkQueues _queues;
    private static readonly long PopularityHalfLife = 10 * Stopwatch.Frequency;
    private readonly Executor[] _workers;
    private readonly TaskPopularity<TaskEntry> _popularity = new(PopularityHalfLife);
    private readonly Prefetcher? _prefetcher;
    private readonly ILogger<SlotScheduler> _logger;
    private readonly KenMetrics _metrics;
    private readonly TaskCompletionSource _admissionClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource? _drained;

    public SlotScheduler(
        IInferenceBackend backend,
        TaskRegistry registry,
        SchedulerOptions scheduling,
        BatchingOptions batching,
        KenMetrics metrics,
        ILogger<SlotScheduler> logger)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(scheduling);
        ArgumentNullException.ThrowIfNull(batching);
        ArgumentNullException.ThrowIfNull(metrics);
        _backend = backend;
        _logger = logger;
        _metrics = metrics;
        // An executor runs on a slot of its own, so more executors than slots would only wait.
        var executors = Math.Clamp(scheduling.Executors, 1, Math.Max(1, backend.SlotCount));
        _queues = new WorkQueues(scheduling, executors);
        var collector = new BatchCollector(_queues, batching with { MaxTexts = Math.Max(1, Math.Min(batching.MaxTexts, backend.MaxBatchSize)) }, metrics);
        var policy = new PickPolicy<TaskEntry>(Stopwatch.Frequency);
        var tenants = new SlotTenants();
        var switcher = new SlotSwitcher(backend, registry, tenants, metrics, logger);
        _workers = new Executor[executors];
        for (var i = 0; i < _workers.Length; i++)
        {
            _workers[i] = new Executor(i, backend, switcher, _queues, collector, policy, tenants, _popularity, metrics, logger, SignalIfDrained);
        }

        if (scheduling.Prefetch && backend.SlotCount > _workers.Length)
        {
            _prefetcher = new Prefetcher(backend, switcher, _queues, policy, tenants, _popularity, _workers.Length, logger, SignalIfDrained);
        }

        metrics.ObserveQueueDepth(() => _queues.Depth);
    }

    /// <summary>Raised with the number of queued requests whenever it changes (under the scheduler's lock: keep handlers short).</summary>
    public event Action<int>? QueueDepthChanged
    {
        add => _queues.DepthChanged += value;
        remove => _queues.DepthChanged -= value;
    }

    public int SlotCount => _backend.SlotCount;

    public int ExecutorCount => _workers.Length;

    public int QueueDepth => _queues.Depth;

    /// <summary>Completes once the scheduler refuses new work (shutdown has begun).</summary>
    public Task AdmissionClosed => _admissionClosed.Task;

    /// <summary>Bytes of weight slots that hold a task.</summary>
    public long MaterializedBytes
    {
        get
        {
            var held = 0;
            foreach (var slot in _backend.Slots)
            {
                if (slot.Task is not null)
                {
                    held++;
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

        _prefetcher?.Start();
    }

    /// <summary>
    /// Tokenizes <paramref name="texts"/> (on the caller's thread), queues them for <paramref name="entry"/>
    /// (admitted by the registry) and completes with that request's output and queue wait. Throws
    /// <see cref="ServerOverloadedException"/> when the queues are full or the estimated wait is too long.
    /// </summary>
    public Task<ServedOutput> SubmitAsync(TaskEntry entry, IReadOnlyList<string> texts, DateTime? deadlineUtc, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var inputs = _backend.Tokenizer.Tokenize(texts);
        var work = new InferenceWork(entry, inputs, deadlineUtc, Activity.Current?.Context ?? default, cancellationToken);
        lock (_queues.Gate)
        {
            try
            {
                _queues.Add(work);
            }
            catch (ServerOverloadedException e) when (e.Reason is { } reason)
            {
                _metrics.Shed(reason);
                throw;
            }

            _popularity.Count(entry, work.EnqueuedTimestamp);

            // Still under the gate, so no worker can take the request before its span exists.
            work.QueueActivity = StartDetached("ken.queue", ActivityKind.Internal, work.Parent);
        }

        return work.Completion.Task;
    }

    /// <summary>Refuses new work from now on (UNAVAILABLE); admitted work still runs.</summary>
    public void StopAdmitting()
    {
        lock (_queues.Gate)
        {
            _queues.StopAdmitting();
        }

        _admissionClosed.TrySetResult();
    }

    /// <summary>Waits until every admitted request has finished or <paramref name="cancellationToken"/> fires.</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        Task drained;
        lock (_queues.Gate)
        {
            if (IsDrained())
            {
                return;
            }

            _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            drained = _drained.Task;
        }

        try
        {
            await drained.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            _logger.ShutdownTimedOut(_queues.Depth);
        }
    }

    public void Dispose()
    {
        lock (_queues.Gate)
        {
            _queues.Close();
        }

        _admissionClosed.TrySetResult();
        foreach (var worker in _workers)
        {
            worker.Join(TimeSpan.FromSeconds(5));
        }

        _prefetcher?.Join(TimeSpan.FromSeconds(5));
    }

    /// <summary>Nothing queued and no slot leased. Caller holds the gate.</summary>
    private bool IsDrained()
    {
        if (_queues.Depth > 0)
        {
            return false;
        }

        foreach (var slot in _backend.Slots)
        {
            if (slot.IsBusy)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Called by a worker under the gate after each batch.</summary>
    private void SignalIfDrained()
    {
        if (_drained is { } drained && IsDrained())
        {
            drained.TrySetResult();
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
