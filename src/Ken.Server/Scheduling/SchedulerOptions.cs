namespace Ken.Server.Scheduling;

/// <summary>How the scheduler admits work (bound from <c>--max-queue</c>).</summary>
public sealed record SchedulerOptions
{
    /// <summary>Most requests waiting in all queues together; beyond it requests get RESOURCE_EXHAUSTED.</summary>
    public int MaxQueue { get; init; } = 1024;
}
