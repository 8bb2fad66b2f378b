namespace Ken.Server.Scheduling;

/// <summary>How the scheduler admits and runs work (bound from <c>--max-queue</c>, <c>--max-queue-wait-ms</c>, <c>--executors</c>, <c>--prefetch</c>).</summary>
public sealed record SchedulerOptions
{
    /// <summary>Most requests waiting in all queues together; beyond it requests get RESOURCE_EXHAUSTED.</summary>
    public int MaxQueue { get; init; } = 1024;

    /// <summary>
    /// Longest estimated queue wait a request is admitted with; a request whose estimated wait is longer gets
    /// RESOURCE_EXHAUSTED at once, with a retry hint (<see cref="QueueWaitEstimator"/>).
    /// </summary>
    public TimeSpan MaxQueueWait { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How many batches run at once, each on its own weight slot. At most the slot count runs.</summary>
    public int Executors { get; init; } = 1;

    /// <summary>While every executor is busy, let an idle slot switch to the next waiting task ahead of time.</summary>
    public bool Prefetch { get; init; } = true;
}
