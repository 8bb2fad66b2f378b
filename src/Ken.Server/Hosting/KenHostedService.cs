using Ken.Runtime.Backends;
using Ken.Server.Registry;
using Ken.Server.Scheduling;
using Ken.Server.Telemetry;

namespace Ken.Server.Hosting;

/// <summary>
/// Start-up (load the registry, start the slot workers, report SERVING) and graceful shutdown
/// (stop admitting, drain admitted work within the shutdown timeout).
/// </summary>
public sealed class KenHostedService : IHostedService
{
    private readonly TaskRegistry _registry;
    private readonly SlotScheduler _scheduler;
    private readonly ServingState _state;
    private readonly KenServerOptions _options;
    private readonly IInferenceBackend _backend;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<KenHostedService> _logger;

    public KenHostedService(TaskRegistry registry, SlotScheduler scheduler, ServingState state, KenServerOptions options, IInferenceBackend backend, IHostApplicationLifetime lifetime, ILogger<KenHostedService> logger)
    {
        _registry = registry;
        _scheduler = scheduler;
        _state = state;
        _options = options;
        _backend = backend;
        _lifetime = lifetime;
        _logger = logger;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Before any slot worker starts, so nothing else touches the slots; a backbone that cannot answer
        // a plain text fails start-up instead of reporting SERVING.
        var checkStarted = System.Diagnostics.Stopwatch.GetTimestamp();
        _backend.CheckSlots();
        var checkMs = System.Diagnostics.Stopwatch.GetElapsedTime(checkStarted).TotalMilliseconds;
        _logger.BackboneChecked(_backend.SlotCount, checkMs);
        _registry.LoadAll();
        _scheduler.Start();
        _lifetime.ApplicationStopping.Register(() =>
        {
            // Before Kestrel stops: health turns NOT_SERVING and new requests get UNAVAILABLE, so balancers move on.
            _state.MarkStopping();
            _scheduler.StopAdmitting();
            _logger.ShuttingDown(_scheduler.QueueDepth);
        });
        _state.MarkReady();
        var mode = _options.SwapMode.ToString().ToLowerInvariant();
        _logger.ServerReady(
            _registry.BaseModel,
            mode,
            _scheduler.SlotCount,
            _registry.Count,
            _options.DataDir);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _state.MarkStopping();
        _scheduler.StopAdmitting();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(_options.ShutdownTimeoutSeconds));
        await _scheduler.DrainAsync(timeout.Token);
        _logger.Stopped();
    }
}
