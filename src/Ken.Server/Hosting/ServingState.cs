namespace Ken.Server.Hosting;

/// <summary>Whether the server is ready to serve: backend loaded, registry read, not shutting down.</summary>
public sealed class ServingState
{
    private volatile bool _ready;
    private volatile bool _stopping;

    public bool IsServing => _ready && !_stopping;

    public void MarkReady() => _ready = true;

    public void MarkStopping() => _stopping = true;
}
