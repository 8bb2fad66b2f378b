using Ken.Server.Registry;

namespace Ken.Server.Scheduling;

/// <summary>
/// The per-task queues, bounded in total and by estimated wait, and the gate every scheduling decision is taken
/// under: admission and shutdown state, the queued-request and queued-text counts, the measured service rates
/// (<see cref="Estimator"/>, fed by the executors), and a signal (<see cref="System.Threading.Monitor"/>
/// pulses on <see cref="Gate"/>) whenever any of it changes.
/// </summary>
internal sealed class WorkQueues
{
    private readonly Dictionary<TaskEntry, TaskQueue> _queues = new(ReferenceEqualityComparer.Instance);
    private readonly int _maxQueue;
    private readonly double _maxWaitSeconds;
    private readonly Running[] _running;
    private int _queued;
    private long _queuedTexts;

    /// <param name="executors">How many executors serve the queues (the estimate divides the work ahead among them).</param>
    public WorkQueues(SchedulerOptions options, int executors = 1)
    {
        ArgumentNullException.ThrowIfNull(options);
        _maxQueue = options.MaxQueue;
        _maxWaitSeconds = options.MaxQueueWait.TotalSeconds;
        Estimator = new QueueWaitEstimator(executors);
        _running = new Running[executors];
    }

    /// <summary>Raised, under the gate, with the new count whenever a request is queued or leaves its queue.</summary>
    public event Action<int>? DepthChanged;

    public object Gate { get; } = new();

    public int Depth => Volatile.Read(ref _queued);

    /// <summary>New requests are refused (UNAVAILABLE). Guarded by the gate.</summary>
    public bool Stopping { get; private set; }

    /// <summary>Workers should exit. Guarded by the gate.</summary>
    public bool Closed { get; private set; }

    /// <summary>The longest a request may wait in its queue (<c>--max-queue-wait-ms</c>).</summary>
    public TimeSpan MaxWait => TimeSpan.FromSeconds(_maxWaitSeconds);

    /// <summary>Measured service rates; read and fed under the gate.</summary>
    public QueueWaitEstimator Estimator { get; }

    /// <summary>Every queue. Caller holds the gate.</summary>
    public Dictionary<TaskEntry, TaskQueue>.ValueCollection All => _queues.Values;

    /// <summary>
    /// Queues <paramref name="work"/>, or throws when the server stops, the queues are full, or the work queued
    /// ahead would make it wait longer than <see cref="SchedulerOptions.MaxQueueWait"/>; returns the wait it was
    /// admitted with, in seconds. Caller holds the gate.
    /// </summary>
    public double Add(InferenceWork work)
    {
        if (Stopping)
        {
            throw new ServerShuttingDownException();
        }

        var queued = _queues.TryGetValue(work.Entry, out var queue);
        var estimate = Estimator.EstimateSeconds(Backlog(work.Entry, queued ? queue : null));
        if (_queued >= _maxQueue)
        {
            throw new ServerOverloadedException(
                $"server overloaded: {_queued} requests are queued (limit {_maxQueue}); retry with backoff, or spread load across replicas.",
                RetryAfter(estimate)) { Reason = ShedReason.QueueFull };
        }

        if (estimate > _maxWaitSeconds)
        {
            var ms = (long)(estimate * 1000);
            var limit = (long)(_maxWaitSeconds * 1000);
            throw new ServerOverloadedException(
                $"server overloaded: the work queued ahead would make this request wait about {ms} ms (limit {limit} ms, --max-queue-wait-ms); retry after the grpc-retry-pushback-ms hint, or spread load across replicas.",
                RetryAfter(estimate - _maxWaitSeconds)) { Reason = ShedReason.EstimatedWait };
        }

        if (!queued)
        {
            queue = new TaskQueue(work.Entry);
            _queues.Add(work.Entry, queue);
        }

        queue!.Items.Enqueue(work);
        queue.Texts += work.Texts;
        _queuedTexts += work.Texts;
        Count(+1);
        return estimate;
    }

    /// <summary>
    /// The refusal of <paramref name="work"/>, taken from its queue after waiting <paramref name="waited"/>,
    /// over <see cref="MaxWait"/>, while more work still waits (the estimate at admission was low): with a
    /// retry hint from the work ahead now. Caller holds the gate.
    /// </summary>
    public ServerOverloadedException Late(InferenceWork work, TimeSpan waited)
    {
        ArgumentNullException.ThrowIfNull(work);
        var estimate = Estimator.EstimateSeconds(Backlog(work.Entry, _queues.GetValueOrDefault(work.Entry)));
        return new ServerOverloadedException(
            $"server overloaded: this request waited {(long)waited.TotalMilliseconds} ms in the queue, over the limit of {(long)(_maxWaitSeconds * 1000)} ms (--max-queue-wait-ms), with more work waiting behind it; retry after the grpc-retry-pushback-ms hint, or spread load across replicas.",
            RetryAfter(estimate - _maxWaitSeconds)) { Reason = ShedReason.Waited };
    }

    /// <summary>Takes the oldest request of <paramref name="queue"/>, dropping the queue once empty. Caller holds the gate.</summary>
    public InferenceWork Dequeue(TaskQueue queue)
    {
        var work = queue.Items.Dequeue();
        queue.Texts -= work.Texts;
        if (queue.Items.Count == 0)
        {
            // Safe while a worker still claims it: a later request for the task starts a new queue.
            _queues.Remove(queue.Entry);
        }

        _queuedTexts -= work.Texts;
        Count(-1);
        return work;
    }

    /// <summary>
    /// Executor <paramref name="executor"/> took <paramref name="entry"/>'s queue and starts serving it, after a
    /// switch when <paramref name="switching"/>; the estimate counts what is left of it until <see cref="EndRun"/>.
    /// Caller holds the gate.
    /// </summary>
    public void BeginRun(int executor, TaskEntry entry, bool switching) =>
        _running[executor] = new Running(entry, 0, switching, System.Diagnostics.Stopwatch.GetTimestamp());

    /// <summary>Executor <paramref name="executor"/> starts running a batch of <paramref name="texts"/> texts. Caller holds the gate.</summary>
    public void RunBatch(int executor, int texts)
    {
        if (_running[executor].Entry is { } entry)
        {
            _running[executor] = new Running(entry, texts, false, System.Diagnostics.Stopwatch.GetTimestamp());
        }
    }

    /// <summary>Executor <paramref name="executor"/> finished its batch. Caller holds the gate.</summary>
    public void EndRun(int executor) => _running[executor] = default;

    /// <summary>Refuses new work from now on. Caller holds the gate.</summary>
    public void StopAdmitting()
    {
        Stopping = true;
        Monitor.PulseAll(Gate);
    }

    /// <summary>Refuses new work and lets the workers exit. Caller holds the gate.</summary>
    public void Close()
    {
        Stopping = true;
        Closed = true;
        Monitor.PulseAll(Gate);
    }

    /// <summary>
    /// The texts queued, the queued tasks no slot holds (each needs a switch before it runs), the tasks with
    /// work queued or running (counting the new request's), the texts of <paramref name="own"/>, the new
    /// request's queue if it has one, and what is left of the running batches. Caller holds the gate.
    /// </summary>
    private QueueBacklog Backlog(TaskEntry ownEntry, TaskQueue? own)
    {
        var switches = 0;
        foreach (var queue in _queues.Values)
        {
            // Not claimed: a claimed queue is switching in or running already.
            if (!queue.Claimed && queue.Entry.Holds == 0)
            {
                switches++;
            }
        }

        var tasks = _queues.Count + (own is null ? 1 : 0);
        double running = 0, ownRunning = 0;
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        foreach (var run in _running)
        {
            if (run.Entry is null)
            {
                continue;
            }

            var left = Estimator.RemainingSeconds(run.Texts, run.Switching, System.Diagnostics.Stopwatch.GetElapsedTime(run.Since, now).TotalSeconds);
            running += left;
            if (ReferenceEquals(run.Entry, ownEntry))
            {
                ownRunning = Math.Max(ownRunning, left);
            }
            else if (!_queues.ContainsKey(run.Entry))
            {
                tasks++;
            }
        }

        return new QueueBacklog(_queuedTexts, switches, tasks, own?.Texts ?? 0, running, ownRunning);
    }

    /// <summary>At least a millisecond: the hint is whole milliseconds, and 0 would invite an immediate retry.</summary>
    private static TimeSpan RetryAfter(double seconds) => TimeSpan.FromMilliseconds(Math.Max(1, Math.Ceiling(seconds * 1000)));

    private void Count(int delta)
    {
        Volatile.Write(ref _queued, _queued + delta);
        DepthChanged?.Invoke(_queued);
        Monitor.PulseAll(Gate);
    }

    /// <summary>What one executor is serving: nothing (a null entry), a switch, or a batch since a time.</summary>
    private readonly record struct Running(TaskEntry? Entry, int Texts, bool Switching, long Since);
}
