using Ken.Server.Registry;

namespace Ken.Server.Scheduling;

/// <summary>
/// The per-task queues, bounded in total, and the gate every scheduling decision is taken under: admission
/// and shutdown state, the queued-request count, and a signal (<see cref="System.Threading.Monitor"/>
/// pulses on <see cref="Gate"/>) whenever any of it changes.
/// </summary>
internal sealed class WorkQueues
{
    private readonly Dictionary<TaskEntry, TaskQueue> _queues = new(ReferenceEqualityComparer.Instance);
    private readonly int _maxQueue;
    private int _queued;

    public WorkQueues(SchedulerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _maxQueue = options.MaxQueue;
    }

    /// <summary>Raised, under the gate, with the new count whenever a request is queued or leaves its queue.</summary>
    public event Action<int>? DepthChanged;

    public object Gate { get; } = new();

    public int Depth => Volatile.Read(ref _queued);

    /// <summary>New requests are refused (UNAVAILABLE). Guarded by the gate.</summary>
    public bool Stopping { get; private set; }

    /// <summary>Workers should exit. Guarded by the gate.</summary>
    public bool Closed { get; private set; }

    /// <summary>Every queue. Caller holds the gate.</summary>
    public Dictionary<TaskEntry, TaskQueue>.ValueCollection All => _queues.Values;

    /// <summary>Queues <paramref name="work"/> or throws when the server stops or the queues are full. Caller holds the gate.</summary>
    public void Add(InferenceWork work)
    {
        if (Stopping)
        {
            throw new ServerShuttingDownException();
        }

        if (_queued >= _maxQueue)
        {
            throw new ServerOverloadedException($"server overloaded: {_queued} requests are queued (limit {_maxQueue}); retry with backoff, or spread load across replicas.");
        }

        if (!_queues.TryGetValue(work.Entry, out var queue))
        {
            queue = new TaskQueue(work.Entry);
            _queues.Add(work.Entry, queue);
        }

        queue.Items.Enqueue(work);
        Count(+1);
    }

    /// <summary>Takes the oldest request of <paramref name="queue"/>, dropping the queue once empty. Caller holds the gate.</summary>
    public InferenceWork Dequeue(TaskQueue queue)
    {
        var work = queue.Items.Dequeue();
        if (queue.Items.Count == 0)
        {
            // Safe while a worker still claims it: a later request for the task starts a new queue.
            _queues.Remove(queue.Entry);
        }

        Count(-1);
        return work;
    }

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

    private void Count(int delta)
    {
        Volatile.Write(ref _queued, _queued + delta);
        DepthChanged?.Invoke(_queued);
        Monitor.PulseAll(Gate);
    }
}
