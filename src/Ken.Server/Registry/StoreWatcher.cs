using Ken.Server.Telemetry;

namespace Ken.Server.Registry;

/// <summary>
/// Keeps a replica's registry in line with a shared registry folder: lists it every
/// <see cref="RegistryOptions.PollInterval"/> (which works on network filesystems, where file-system
/// notifications do not arrive) and, where notifications do arrive, also right after a change.
/// Started after the registry loaded the folder; runs only for a shared folder.
/// </summary>
public sealed class StoreWatcher : BackgroundService
{
    private readonly TaskRegistry _registry;
    private readonly RegistryOptions _options;
    private readonly ILogger<StoreWatcher> _logger;
    private readonly SemaphoreSlim _changed = new(0, 1);
    private FileSystemWatcher? _watcher;

    public StoreWatcher(TaskRegistry registry, RegistryOptions options, ILogger<StoreWatcher> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _registry = registry;
        _options = options;
        _logger = logger;
    }

    /// <summary>Raised each time a listing of the folder was applied (tests wait on it instead of sleeping).</summary>
    public event Action? Synced;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var pollMs = (int)_options.PollInterval.TotalMilliseconds;
        _watcher = TryWatch(_registry.Folder, pollMs);
        _logger.StoreWatchStarted(_registry.Folder, pollMs, _watcher is not null);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // Either a notification or the poll interval; a burst of notifications is one listing.
                _ = await _changed.WaitAsync(_options.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                _registry.Sync();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _logger.StoreSyncFailed(_registry.Folder, ex.Message);
            }

            Synced?.Invoke();
        }
    }

    public override void Dispose()
    {
        _watcher?.Dispose();
        _changed.Dispose();
        base.Dispose();
    }

    private FileSystemWatcher? TryWatch(string folder, int pollMs)
    {
        FileSystemWatcher? watcher = null;
        try
        {
            Directory.CreateDirectory(folder);
            watcher = new FileSystemWatcher(folder, "*" + TaskStore.Extension + "*");
            watcher.NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size;
            watcher.Created += (_, _) => Wake();
            watcher.Deleted += (_, _) => Wake();
            watcher.Renamed += (_, _) => Wake();
            watcher.Changed += (_, _) => Wake();
            watcher.Error += (_, _) => Wake();
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or PlatformNotSupportedException or ArgumentException)
        {
            // E.g. the per-user inotify limit; listing alone still finds every change.
            watcher?.Dispose();
            _logger.StoreNotificationsUnavailable(folder, ex.Message, pollMs);
            return null;
        }
    }

    private void Wake()
    {
        try
        {
            _changed.Release();
        }
        catch (SemaphoreFullException)
        {
            // A listing is already due.
        }
        catch (ObjectDisposedException)
        {
            // Stopping.
        }
    }
}
