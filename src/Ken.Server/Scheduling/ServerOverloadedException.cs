namespace Ken.Server.Scheduling;

/// <summary>The queues are full (RESOURCE_EXHAUSTED); the client should back off and retry.</summary>
public sealed class ServerOverloadedException : Exception
{
    public ServerOverloadedException()
    {
    }

    public ServerOverloadedException(string message)
        : base(message)
    {
    }

    public ServerOverloadedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
