namespace Ken.Server.Scheduling;

/// <summary>How the scheduler admits and runs work (bound from <c>--max-queue</c>, <c>--executors</c>, <c>--prefetch</c>).</summary>
public sealed record SchedulerOptions
{
    /// <summary>Most requests waiting in all queues together; beyond it requests get RESOURCE_EXHAUSTED.</summary>
    public int MaxQueue { get; init; } = 1024;

    /// <summary>How many batches run at once, each on its own weight slot. At most the slot count runs.</summary>
    public int Executors { get; init; } = 1;

    /// <summary>While every executor is busy, let an idle slot switch to the next waiting task ahead of time.</summary>
    public bool Prefetch { get; init; } = true;
}
