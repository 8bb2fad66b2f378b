namespace Ken.Server.Scheduling;

/// <summary>The server stopped admitting work because it is shutting down (UNAVAILABLE).</summary>
public sealed class ServerShuttingDownException : Exception
{
    public ServerShuttingDownException()
        : base("server is shutting down; retry on another replica")
    {
    }

    public ServerShuttingDownException(string message)
        : base(message)
    {
    }

    public ServerShuttingDownException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
