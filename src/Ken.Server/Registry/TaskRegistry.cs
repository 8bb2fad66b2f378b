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
/// its file was fully validated, bound and renamed into place. With a shared folder
/// (<see cref="RegistryOptions.Shared"/>) the folder is the truth: <see cref="Sync"/> follows what other
/// replicas publish there, and a name this replica does not know is looked up there before NOT_FOUND.
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

    /// <summary>Shared folder only: versions of task files that failed to load, so a poll does not retry them until they change.</summary>
    private readonly Dictionary<string, StoreStamp> _failed = new(StringComparer.Ordinal);

    /// <summary>In a shared folder, temp files untouched this long are left over from a crash (an upload in progress writes to its file).</summary>
    private static readonly TimeSpan SharedLeftoverAge = TimeSpan.FromHours(1);

    public TaskRegistry(RegistryOptions options, IInferenceBackend backend, ILogger<TaskRegistry> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _backend = backend;
        _logger = logger;
        _store = new TaskStore(options.TasksDir);
        _quarantine = new TaskQuarantine(options.QuarantineDir, logger);
        _host = new HostTier(options.HostDeltaBudget, Rebind, logger);
    }

    public string BaseModel => _backend.BaseModel;

    /// <summary>The registry folder.</summary>
    public string Folder => _store.Folder;

    /// <summary>
    /// Loads every task on disk. A file that fails to read or bind is moved to the quarantine folder
    /// with a log line; it never stops start-up.
    /// </summary>
    public void LoadAll()
    {
        _store.RemoveLeftovers(_options.Shared ? SharedLeftoverAge : null);
        var files = _store.TaskFiles();
        for (var i = 0; i < files.Length; i++)
        {
            var path = files[i];
            var name = Path.GetFileNameWithoutExtension(path);

            // Taken before the read: if the file still has this stamp later, the read saw this version.
            var stamp = StoreStamp.Of(path);
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
                if (_options.Shared)
                {
                    // Other replicas may serve it; moving it away would unregister it for all of them.
                    SkipShared(name, path, stamp, ex);
                }
                else
                {
                    _quarantine.Move(path, ex.Message);
                }

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

            var entry = new TaskEntry(name, path, new FileInfo(path).Length, bound.Metadata, File.GetLastWriteTimeUtc(path), PinMarker.IsSet(path), stamp);
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

    public TaskEntry Get(string name) => Find(name) ?? throw TaskNotFoundException.For(name);

    /// <summary>
    /// Admits one request for <paramref name="name"/>: the entry stays usable (bound or re-readable)
    /// until <see cref="Release"/>, even if the task is unregistered meanwhile.
    /// </summary>
    public TaskEntry Admit(string name)
    {
        for (var lookedUp = false; ; lookedUp = true)
        {
            lock (_gate)
            {
                if (_tasks.TryGetValue(name, out var entry))
                {
                    _host.Admit(entry);
                    entry.CountRequest();
                    return entry;
                }
            }

            if (lookedUp || LookUp(name) is null)
            {
                throw TaskNotFoundException.For(name);
            }
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

        // The file is complete and closed; the rename keeps its stamp, so this is the published version's.
        var stamp = StoreStamp.Of(session.TempPath) ?? throw new IOException($"the upload's temp file {session.TempPath} disappeared before it was published");
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
            AcquireBeforeReplacing(previous);
        }

        var entry = new TaskEntry(upload.Name, _store.PathFor(upload.Name), received, bound.Metadata, new DateTimeOffset(stamp.LastWriteTicks, TimeSpan.Zero), upload.Pin, stamp);
        lock (_gate)
        {
            _tasks.TryGetValue(upload.Name, out var current);
            if (upload.Overwrite)
            {
                // Last rename wins: a concurrent overwrite through another replica may replace this version
                // right after; every replica then follows the folder to that one.
                _store.Publish(session.TempPath, upload.Name, upload.Pin);
            }
            else
            {
                // First publish wins, here and across replicas; the other gets ALREADY_EXISTS.
                _store.PublishNew(session.TempPath, upload.Name, upload.Pin, Exists);
            }

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
        var entry = Find(name) ?? throw TaskNotFoundException.For(name);
        if (_host.IsBusy(entry))
        {
            // Waiting requests need the delta once the file is gone.
            AcquireBeforeReplacing(entry);
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

    /// <summary>Each registered task and the tier it is in now, for the ken_task_resident gauge.</summary>
    public List<(string Task, ResidencyTier Tier)> TaskTiers()
    {
        lock (_gate)
        {
            var tiers = new List<(string, ResidencyTier)>(_tasks.Count);
            foreach (var entry in _tasks.Values)
            {
                tiers.Add((entry.Name, entry.Tier));
            }

            return tiers;
        }
    }

    /// <summary>
    /// Shared folder: brings this replica in line with the folder. A task file that is new or has another
    /// version than the one served is loaded and replaces it (requests already admitted finish on the
    /// version they were admitted to); a task whose file is gone is dropped; a pin marker that appeared or
    /// went is followed. A change this replica made itself meanwhile wins over what the listing saw.
    /// </summary>
    public void Sync()
    {
        Dictionary<string, TaskEntry> known;
        lock (_gate)
        {
            // Before the listing: an entry registered after it is a different object, which Install and Forget leave alone.
            known = new Dictionary<string, TaskEntry>(_tasks, StringComparer.Ordinal);
        }

        var files = _store.Scan();
        foreach (var file in files.Values)
        {
            if (known.TryGetValue(file.Name, out var entry) && entry.Stamp == file.Stamp)
            {
                if (entry.Pinned != file.Pinned)
                {
                    SetPinned(entry, file.Pinned);
                }

                continue;
            }

            Install(file.Name, entry);
        }

        foreach (var (name, entry) in known)
        {
            if (!files.ContainsKey(name))
            {
                Forget(name, entry);
            }
        }

        lock (_gate)
        {
            _failed.Keys.Where(name => !files.ContainsKey(name)).ToList().ForEach(name => _failed.Remove(name));
        }
    }

    /// <summary>Shared folder: the task named <paramref name="name"/>, loaded from the folder if this replica has not seen it yet; null when it is not there.</summary>
    private TaskEntry? LookUp(string name) => _options.Shared && TaskName.IsValid(name) ? Install(name, null) : null;

    /// <summary>The registered entry, or (shared folder) the one found in the folder; null when neither has it.</summary>
    private TaskEntry? Find(string name)
    {
        lock (_gate)
        {
            if (_tasks.TryGetValue(name, out var entry))
            {
                return entry;
            }
        }

        return LookUp(name);
    }

    /// <summary>
    /// Loads the version of <paramref name="name"/> the folder holds now and makes it the registered one,
    /// provided the registered entry is still <paramref name="expected"/> (null: none); returns the entry
    /// registered afterwards, or null when the folder has no loadable file of that name.
    /// </summary>
    private TaskEntry? Install(string name, TaskEntry? expected)
    {
        var path = _store.PathFor(name);
        if (StoreStamp.Of(path) is not { } stamp)
        {
            return null;
        }

        lock (_gate)
        {
            if (_failed.TryGetValue(name, out var failed) && failed == stamp)
            {
                return expected;
            }
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        BoundTask bound;
        try
        {
            bound = ReadAndBind(path, name);
            if (_options.KeepEveryTask)
            {
                ThrowIfNoRoom(name, bound, expected);
            }
        }
        catch (FileNotFoundException)
        {
            // Unregistered between the listing and the read.
            return null;
        }
        catch (Exception ex) when (ex is KenException or IOException or UnauthorizedAccessException or InvalidDataException or Scheduling.ServerOverloadedException)
        {
            SkipShared(name, path, stamp, ex);
            if (expected is not null && ex is not IOException and not UnauthorizedAccessException)
            {
                // The folder no longer holds the served version, and this replica cannot serve the new one.
                Forget(name, expected);
            }

            return null;
        }

        var entry = new TaskEntry(name, path, stamp.Length, bound.Metadata, new DateTimeOffset(stamp.LastWriteTicks, TimeSpan.Zero), PinMarker.IsSet(path), stamp);
        lock (_gate)
        {
            _tasks.TryGetValue(name, out var current);
            if (!ReferenceEquals(current, expected))
            {
                // This replica registered, replaced or loaded it meanwhile; the next poll compares again.
                return current;
            }

            _failed.Remove(name);
            PinOnDevice(name, entry.Pinned);
            _tasks[name] = entry;
            if (current is not null)
            {
                _host.Retire(current);
            }

            _host.Add(entry, bound);
        }

        var kind = KenDeltaMetadata.ToText(entry.Kind);
        var ms = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        _logger.SharedTaskLoaded(name, kind, entry.FileBytes, ms, expected is not null);
        return entry;
    }

    /// <summary>Drops <paramref name="entry"/> if it is still the registered one: its file left the shared folder.</summary>
    private void Forget(string name, TaskEntry entry)
    {
        lock (_gate)
        {
            if (!_tasks.TryGetValue(name, out var current) || !ReferenceEquals(current, entry))
            {
                return;
            }

            _tasks.Remove(name);
            _host.Retire(entry);
            PinOnDevice(name, false);
        }

        _logger.SharedTaskRemoved(name);
    }

    private void SetPinned(TaskEntry entry, bool pinned)
    {
        lock (_gate)
        {
            if (_tasks.TryGetValue(entry.Name, out var current) && ReferenceEquals(current, entry))
            {
                entry.Pinned = pinned;
                PinOnDevice(entry.Name, pinned);
            }
        }
    }

    /// <summary>A file in the shared folder failed to load: logged once per version, never moved (other replicas may serve it).</summary>
    private void SkipShared(string name, string path, StoreStamp? stamp, Exception ex)
    {
        if (ex is IOException or UnauthorizedAccessException)
        {
            // Perhaps passing (a network filesystem); the next poll tries again.
            _logger.SharedTaskSkipped(path, ex.Message);
            return;
        }

        lock (_gate)
        {
            if (stamp is { } s)
            {
                _failed[name] = s;
            }
        }

        _logger.SharedTaskSkipped(path, ex.Message);
    }

    /// <summary>
    /// Binds an evicted entry's file again. In a shared folder the file must still be the entry's version:
    /// another replica may have replaced or removed it, and serving the entry from another version's file
    /// would mix two versions in one request.
    /// </summary>
    private BoundTask Rebind(TaskEntry entry)
    {
        if (!_options.Shared || entry.Stamp is not { } stamp)
        {
            return ReadAndBind(entry.Path, entry.Name);
        }

        if (StoreStamp.Of(entry.Path) != stamp)
        {
            throw TaskVersionGoneException.For(entry.Name);
        }

        BoundTask bound;
        try
        {
            bound = ReadAndBind(entry.Path, entry.Name);
        }
        catch (IOException) when (StoreStamp.Of(entry.Path) != stamp)
        {
            throw TaskVersionGoneException.For(entry.Name);
        }

        return StoreStamp.Of(entry.Path) == stamp ? bound : throw TaskVersionGoneException.For(entry.Name);
    }

    /// <summary>Binds <paramref name="entry"/> so that its admitted requests outlive its file; a version already gone from a shared folder is left to fail them with UNAVAILABLE.</summary>
    private void AcquireBeforeReplacing(TaskEntry entry)
    {
        try
        {
            _ = _host.Acquire(entry);
        }
        catch (TaskVersionGoneException)
        {
            // Its requests get UNAVAILABLE and retry against the current version.
        }
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

        // A shared folder may hold a task this replica has not seen yet, or have lost one it still lists.
        bool exists;
        if (_options.Shared)
        {
            exists = File.Exists(_store.PathFor(upload.Name));
        }
        else
        {
            lock (_gate)
            {
                exists = _tasks.ContainsKey(upload.Name);
            }
        }

        if (exists)
        {
            throw Exists(upload.Name);
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
