using Ken.Format;
using Ken.Format.Deltas;
using Ken.Runtime.Backends;
using Ken.Runtime.Tasks;
using Ken.Server.Telemetry;

namespace Ken.Server.Registry;

/// <summary>
/// The task registry: which tasks are registered, by name. Their files live in a <see cref="TaskStore"/>,
/// uploads arrive through a <see cref="TaskUploadSession"/>, bound deltas live in the <see cref="HostTier"/>,
/// and files that fail to load go to the <see cref="TaskQuarantine"/>. A task becomes visible only after
/// its file was fully validated, bound and renamed into place.
/// </summary>
public sealed class TaskRegistry : ISlotHoldings
{
    private readonly RegistryOptions _options;
    private readonly IInferenceBackend _backend;
    private readonly ILogger<TaskRegistry> _logger;
    private readonly TaskStore _store;
    private readonly TaskQuarantine _quarantine;
    private readonly HostTier _host;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, TaskEntry> _tasks = new(StringComparer.Ordinal);

    public TaskRegistry(RegistryOptions options, IInferenceBackend backend, ILogger<TaskRegistry> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _backend = backend;
        _logger = logger;
        _store = new TaskStore(options.TasksDir);
        _quarantine = new TaskQuarantine(options.QuarantineDir, logger);
        _host = new HostTier(options.HostDeltaBudget, entry => ReadAndBind(entry.Path, entry.Name), logger);
    }

    public string BaseModel => _backend.BaseModel;

    /// <summary>
    /// Loads every task on disk. A file that fails to read or bind is moved to the quarantine folder
    /// with a log line; it never stops start-up.
    /// </summary>
    public void LoadAll()
    {
        _store.RemoveLeftovers();
        var files = _store.TaskFiles();
        for (var i = 0; i < files.Length; i++)
        {
            var path = files[i];
            var name = Path.GetFileNameWithoutExtension(path);
            BoundTask bound;
            try
            {
                if (!TaskName.IsValid(name))
                {
                    throw new KenException($"the file name is not a valid task name");
                }

                bound = ReadAndBind(path, name);
            }
            catch (Exception ex) when (ex is KenException or IOException or UnauthorizedAccessException or InvalidDataException)
            {
                _quarantine.Move(path, ex.Message);
                continue;
            }

            if (_options.KeepEveryTask && _host.ResidentBytes + bound.ResidentBytes > _options.HostDeltaBudget)
            {
                // Not a bad file: the server's budget is too small, so start-up stops instead of thrashing.
                var needed = _host.ResidentBytes + (bound.ResidentBytes * (files.Length - i));
                throw new KenException(
                    $"--swap-mode resident keeps every task's full weights in host memory: the {files.Length} tasks in {_store.Folder} need about {ByteText(needed)}, "
                    + $"more than --host-delta-budget {ByteText(_options.HostDeltaBudget)}. Raise --host-delta-budget to at least {ByteText(needed)}, or serve them with --swap-mode patch.");
            }

            var entry = new TaskEntry(name, path, new FileInfo(path).Length, bound.Metadata, TaskGeneration.Of(path), PinMarker.IsSet(path));
            PinOnDevice(name, entry.Pinned);
            lock (_gate)
            {
                _tasks[name] = entry;
                _host.Add(entry, bound);
            }

            var kind = KenDeltaMetadata.ToText(entry.Kind);
            _logger.TaskLoaded(name, kind, entry.FileBytes, path);
        }

        _logger.RegistryLoaded(_store.Folder, Count);
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _tasks.Count;
            }
        }
    }

    /// <summary>A snapshot of the registered tasks, by name.</summary>
    public List<TaskEntry> List()
    {
        lock (_gate)
        {
            var list = new List<TaskEntry>(_tasks.Values);
            list.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
            return list;
        }
    }

    public TaskEntry Get(string name)
    {
        lock (_gate)
        {
            return _tasks.TryGetValue(name, out var entry) ? entry : throw TaskNotFoundException.For(name);
        }
    }

    /// <summary>
    /// Admits one request for <paramref name="name"/>: the entry stays usable (bound or re-readable)
    /// until <see cref="Release"/>, even if the task is unregistered meanwhile.
    /// </summary>
    public TaskEntry Admit(string name)
    {
        lock (_gate)
        {
            if (!_tasks.TryGetValue(name, out var entry))
            {
                throw TaskNotFoundException.For(name);
            }

            _host.Admit(entry);
            entry.CountRequest();
            return entry;
        }
    }

    public void Release(TaskEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        _host.Release(entry);
    }

    /// <inheritdoc/>
    public BoundTask HoldInSlot(TaskEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return _host.Hold(entry);
    }

    /// <inheritdoc/>
    public void ReleaseFromSlot(TaskEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        _host.Unhold(entry);
    }

    /// <summary>
    /// Receives an upload into a hidden temp file while hashing it, checks size and checksum,
    /// validates and binds it, then renames it into place and makes it visible.
    /// </summary>
    public async Task<TaskEntry> RegisterAsync(TaskUpload upload, IAsyncEnumerable<ReadOnlyMemory<byte>> chunks, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        ArgumentNullException.ThrowIfNull(chunks);
        TaskName.Validate(upload.Name);
        using var session = new TaskUploadSession(upload, _options.MaxTaskBytes, _store.NewTempPath(upload.Name));
        ThrowIfExists(upload);
        var received = await session.ReceiveAsync(chunks, cancellationToken);

        BoundTask bound;
        try
        {
            bound = ReadAndBind(session.TempPath, upload.Name);
        }
        catch (KenException ex)
        {
            // The reader names the temp file; the user knows the upload by its task name.
            throw Rename(ex, session.TempPath, upload.Name + TaskStore.Extension);
        }

        TaskEntry? previous;
        lock (_gate)
        {
            _tasks.TryGetValue(upload.Name, out previous);
        }

        if (_options.KeepEveryTask)
        {
            ThrowIfNoRoom(upload.Name, bound, previous);
        }

        if (previous is not null)
        {
            ThrowIfExists(upload);

            // Requests already admitted to the old version must still find its delta after its file is replaced.
            _ = _host.Acquire(previous);
        }

        TaskEntry entry;
        lock (_gate)
        {
            _tasks.TryGetValue(upload.Name, out var current);
            if (current is not null && !upload.Overwrite)
            {
                throw Exists(upload.Name);
            }

            // Stamped on the hidden file, so the version is on disk before it becomes visible.
            var generation = TaskGeneration.Stamp(session.TempPath, current is null ? null : new TaskGeneration(current.Generation));
            entry = new TaskEntry(upload.Name, _store.PathFor(upload.Name), received, bound.Metadata, generation, upload.Pin);
            _store.Publish(session.TempPath, upload.Name, upload.Pin);
            PinOnDevice(upload.Name, upload.Pin);
            _tasks[upload.Name] = entry;
            if (current is not null)
            {
                _host.Retire(current);
            }

            _host.Add(entry, bound);
        }

        var kind = KenDeltaMetadata.ToText(entry.Kind);
        _logger.TaskRegistered(upload.Name, kind, received, upload.Pin, previous is not null);
        return entry;
    }

    /// <summary>
    /// With <see cref="RegistryOptions.KeepEveryTask"/>: refuses (RESOURCE_EXHAUSTED) a task whose bound form
    /// would not fit the host budget next to every other registered task, rather than evict one of them.
    /// </summary>
    private void ThrowIfNoRoom(string name, BoundTask bound, TaskEntry? previous)
    {
        long live = 0;
        int count;
        lock (_gate)
        {
            count = _tasks.Count + (previous is null ? 1 : 0);
            foreach (var entry in _tasks.Values)
            {
                if (!ReferenceEquals(entry, previous))
                {
                    live += entry.ResidentBytes;
                }
            }
        }

        var needed = live + bound.ResidentBytes;
        if (needed > _options.HostDeltaBudget)
        {
            throw new Scheduling.ServerOverloadedException(
                $"task '{name}' does not fit: --swap-mode resident keeps every task's full weights in host memory, and {count} tasks need {ByteText(needed)}, "
                + $"more than --host-delta-budget {ByteText(_options.HostDeltaBudget)}. Unregister a task, restart with --host-delta-budget of at least {ByteText(needed)}, or use --swap-mode patch.");
        }
    }

    private static string ByteText(long bytes) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes} bytes ({bytes / (1024.0 * 1024.0):F0} MiB)");

    /// <summary>Removes a task: later requests get NOT_FOUND, admitted ones still complete.</summary>
    public TaskEntry Unregister(string name)
    {
        TaskName.Validate(name);
        TaskEntry entry;
        lock (_gate)
        {
            if (!_tasks.TryGetValue(name, out var found))
            {
                throw TaskNotFoundException.For(name);
            }

            entry = found;
        }

        if (_host.IsBusy(entry))
        {
            // Waiting requests need the delta once the file is gone.
            _ = _host.Acquire(entry);
        }

        lock (_gate)
        {
            if (_tasks.TryGetValue(name, out var current) && ReferenceEquals(current, entry))
            {
                _tasks.Remove(name);
                _host.Retire(entry);
                PinOnDevice(name, false);
                TaskStore.Delete(entry.Path);
            }
        }

        _logger.TaskUnregistered(name);
        return entry;
    }

    /// <summary>
    /// Registered tasks per tier and the bytes of bound deltas in host memory (including those of
    /// replaced or unregistered tasks that a request or slot still uses), for the ken_tasks and
    /// ken_resident_bytes gauges.
    /// </summary>
    public (int Disk, int Host, int Device, int Slot, long HostBytes) TierSnapshot()
    {
        int disk = 0, host = 0, device = 0, slot = 0;
        lock (_gate)
        {
            foreach (var entry in _tasks.Values)
            {
                switch (entry.Tier)
                {
                    case ResidencyTier.Disk: disk++; break;
                    case ResidencyTier.Host: host++; break;
                    case ResidencyTier.Device: device++; break;
                    default: slot++; break;
                }
            }
        }

        return (disk, host, device, slot, _host.ResidentBytes);
    }

    /// <summary>The entry's bound delta, reading and binding its file again if it was evicted from host memory.</summary>
    internal BoundTask Acquire(TaskEntry entry) => _host.Acquire(entry);

    /// <summary>Tells a backend with a device delta tier which tasks are pinned, so it keeps their deltas too.</summary>
    private void PinOnDevice(string name, bool pinned)
    {
        if (_backend is IDeviceDeltaTier device)
        {
            device.PinOnDevice(name, pinned);
        }
    }

    private BoundTask ReadAndBind(string path, string name)
    {
        var delta = KenDeltaReader.Read(path);

        // The registry name is the task's identity; the name inside the file is only a default for uploads.
        if (delta.Metadata.Task != name)
        {
            delta = delta with { Metadata = delta.Metadata with { Task = name } };
        }

        return _backend.Bind(delta);
    }

    private void ThrowIfExists(TaskUpload upload)
    {
        if (upload.Overwrite)
        {
            return;
        }

        lock (_gate)
        {
            if (_tasks.ContainsKey(upload.Name))
            {
                throw Exists(upload.Name);
            }
        }
    }

    private static TaskExistsException Exists(string name) =>
        new($"task \"{name}\" is already registered; set overwrite (ken register --overwrite) to replace it, or choose another name.");

    private static KenException Rename(KenException ex, string path, string shown)
    {
        var message = ex.Message.Replace(path, shown, StringComparison.Ordinal);
        return ex is DeltaMismatchException ? new DeltaMismatchException(message, ex) : new KenException(message, ex);
    }
}
