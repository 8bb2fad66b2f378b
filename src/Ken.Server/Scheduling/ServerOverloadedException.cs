namespace Ken.Server.Scheduling;

/// <summary>
/// The server cannot take the request now (RESOURCE_EXHAUSTED): its queues are full or it would wait too long;
/// the client should back off and retry, after <see cref="RetryAfter"/> when the server could estimate it.
/// </summary>
public sealed class ServerOverloadedException : Exception
{
    public ServerOverloadedException()
    {
    }

    public ServerOverloadedException(string message)
        : base(message)
    {
    }

    public ServerOverloadedException(string message, TimeSpan retryAfter)
        : base(message)
    {
        RetryAfter = retryAfter;
    }

    public ServerOverloadedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Why: one of <see cref="ShedReason"/>'s values, or null where no scheduler decided it.</summary>
    public string? Reason { get; init; }

    /// <summary>How long the client should wait before retrying (sent as <c>grpc-retry-pushback-ms</c>); null when unknown.</summary>
    public TimeSpan? RetryAfter { get; }
}
