namespace Ken.Server.Api;

/// <summary>
/// The idle watchdog of one upload: each wait for the client's next message gets a token that fires
/// after <c>--upload-idle-timeout-s</c>; the clock stops while the server handles what arrived.
/// </summary>
internal sealed class UploadIdleTimer : IDisposable
{
    private readonly CancellationTokenSource _source;
    private readonly CancellationToken _call;

    public UploadIdleTimer(TimeSpan timeout, CancellationToken call)
    {
        Timeout = timeout;
        _call = call;
        _source = CancellationTokenSource.CreateLinkedTokenSource(call);
    }

    public TimeSpan Timeout { get; }

    /// <summary>Whether the watchdog fired (rather than the client cancelling the call).</summary>
    public bool Fired => _source.IsCancellationRequested && !_call.IsCancellationRequested;

    /// <summary>Starts the clock for one wait and returns its token.</summary>
    public CancellationToken Start()
    {
        _source.CancelAfter(Timeout);
        return _source.Token;
    }

    /// <summary>Stops the clock once the wait is over.</summary>
    public void Stop()
    {
        if (!_source.IsCancellationRequested)
        {
            _source.CancelAfter(System.Threading.Timeout.InfiniteTimeSpan);
        }
    }

    public void Dispose() => _source.Dispose();
}
