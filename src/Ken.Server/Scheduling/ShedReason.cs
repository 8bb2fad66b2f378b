namespace Ken.Server.Scheduling;

/// <summary>Why a request was refused as overloaded: the <c>reason</c> label of <c>ken_shed_total</c>.</summary>
public static class ShedReason
{
    /// <summary>The queues held <c>--max-queue</c> requests already.</summary>
    public const string QueueFull = "queue_full";

    /// <summary>At admission, the work ahead was estimated to take longer than <c>--max-queue-wait-ms</c>.</summary>
    public const string EstimatedWait = "estimated_wait";

    /// <summary>Admitted, but it waited past <c>--max-queue-wait-ms</c> with more work behind it (the estimate was low).</summary>
    public const string Waited = "waited";
}
