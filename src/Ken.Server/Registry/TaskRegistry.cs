using System.Diagnostics;
using System.Security.Cryptography;
using Ken.Runtime.Backends;
using Ken.Runtime.Tasks;

using Ken.Format;
using Ken.Format.Deltas;
using Ken.Format.IO;
using Ken.Server.Hosting;

namespace Ken.Server.Registry;

/// <summary>
/// The task registry: <c>&lt;data-dir&gt;/tasks/&lt;name&gt;.ken</c> on disk, bound deltas in host memory
/// within <see cref="KenServerOptions.HostDeltaBudget"/> (LRU; pinned and busy tasks stay).
/// A task becomes visible only after its file was fully validated, bound and renamed into place.
/// </summary>
public sealed class TaskRegistry
{
    public const string Extension = ".ken";
    private const string PinSuffix = ".pinned";

    private readonly KenServerOptions _options;
    private readonly IInferenceBackend _backend;
    private readonly ILogger<TaskRegistry> _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, TaskEntry> _tasks = new(StringComparer.Ordinal);

    public TaskRegistry(KenServerOptions options, IInferenceBackend backend, ILogger<TaskRegistry> logger)
    {
        _options = options;
        _backend = backend;
        _logger = logger;
    }

    public string BaseModel => _backend.BaseModel;

    /// <summary>
    /// Loads every task on disk. A file that fails to read or bind is moved to the quarantine folder
    /// with a log line; it never stops start-up.
    /// </summary>
    public void LoadAll()
    {
        Directory.CreateDirectory(_options.TasksDir);
        foreach (var leftover in Directory.EnumerateFiles(_options.TasksDir, "*" + AtomicFile.TempMarker + "*"))
        {
            // An upload or write that a crash interrupted; it was never visible.
            TryDelete(leftover);
        }

        var files = Directory.GetFiles(_options.TasksDir, "*" + Extension);
        Array.Sort(files, StringComparer.Ordinal);
        foreach (var path in files)
        {
            var name = Path.GetFileNameWithoutExtension(path);
            try
            {
                if (!TaskName.IsValid(name))
                {
                    throw new KenException($"the file name is not a valid task name");
                }

                var bound = ReadAndBind(path, name);
                var entry = new TaskEntry(name, path, new FileInfo(path).Length, bound.Metadata, File.GetLastWriteTimeUtc(path), File.Exists(path + PinSuffix))
                {
                    Bound = bound,
                    LastUsedTicks = Stopwatch.GetTimestamp(),
                };
                lock (_gate)
                {
                    _tasks[name] = entry;
                    EvictOverBudget();
                }

                _logger.LogInformation("Loaded task {Task} ({Kind}, {Bytes} bytes) from {Path}", name, KenDeltaMetadata.ToText(entry.Kind), entry.FileBytes, path);
            }
            catch (Exception ex) when (ex is KenException or IOException or UnauthorizedAccessException or InvalidDataException)
            {
                Quarantine(path, ex.Message);
            }
        }

        _logger.LogInformation("Registry at {Folder}: {Count} tasks", _options.TasksDir, Count);
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

            entry.Busy++;
            entry.CountRequest();
            return entry;
        }
    }

    public void Release(TaskEntry entry)
    {
        lock (_gate)
        {
            entry.Busy--;
            if (entry.Retired && entry.Busy == 0)
            {
                entry.Bound = null;
            }
        }
    }

    /// <summary>The entry's bound delta, reading and binding its file again if it was evicted from host memory.</summary>
    public BoundTask Acquire(TaskEntry entry)
    {
        lock (_gate)
        {
            if (entry.Bound is { } bound)
            {
                entry.LastUsedTicks = Stopwatch.GetTimestamp();
                return bound;
            }
        }

        // Binding can take a while; one entry binds at most once at a time, other tasks go on.
        lock (entry)
        {
            lock (_gate)
            {
                if (entry.Bound is { } bound)
                {
                    return bound;
                }
            }

            var fresh = ReadAndBind(entry.Path, entry.Name);
            lock (_gate)
            {
                entry.Bound = fresh;
                entry.LastUsedTicks = Stopwatch.GetTimestamp();
                EvictOverBudget();
                return fresh;
            }
        }
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
        if (upload.SizeBytes <= 0)
        {
            throw new KenException($"the upload header gives size_bytes {upload.SizeBytes}; set it to the .ken file's exact size in bytes.");
        }

        if (upload.SizeBytes > _options.MaxTaskBytes)
        {
            throw new KenException($"the .ken file is {upload.SizeBytes} bytes, over this server's limit of {_options.MaxTaskBytes} (--max-task-size); prune with a smaller budget or raise the limit.");
        }

        var expectedHash = ParseSha256(upload.Sha256);
        ThrowIfExists(upload);

        Directory.CreateDirectory(_options.TasksDir);
        var finalPath = Path.Combine(_options.TasksDir, upload.Name + Extension);
        var tempPath = Path.Combine(_options.TasksDir, "." + upload.Name + Extension + AtomicFile.TempMarker + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            long received = 0;
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await using (var file = new FileStream(tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                await foreach (var chunk in chunks.WithCancellation(cancellationToken))
                {
                    received += chunk.Length;
                    if (received > upload.SizeBytes)
                    {
                        throw new KenException($"the upload sent more than the {upload.SizeBytes} bytes its header declared; set size_bytes to the file's exact size.");
                    }

                    hash.AppendData(chunk.Span);
                    await file.WriteAsync(chunk, cancellationToken);
                }

                // On disk before the rename makes it visible, so a crash never leaves a partial task.
                await file.FlushAsync(cancellationToken);
                file.Flush(flushToDisk: true);
            }

            if (received != upload.SizeBytes)
            {
                throw new KenException($"the upload ended after {received} bytes, but its header declared {upload.SizeBytes}; send the whole file (did the client stop early?).");
            }

            var actualHash = hash.GetHashAndReset();
            if (!CryptographicOperations.FixedTimeEquals(actualHash, expectedHash))
            {
                throw new KenException($"the upload's SHA-256 is {Convert.ToHexStringLower(actualHash)}, but its header declared {upload.Sha256}; the file was corrupted in transit or the checksum is of another file; upload again.");
            }

            BoundTask bound;
            try
            {
                bound = ReadAndBind(tempPath, upload.Name);
            }
            catch (KenException ex)
            {
                // The reader names the temp file; the user knows the upload by its task name.
                throw Rename(ex, tempPath, upload.Name + Extension);
            }

            TaskEntry? previous;
            lock (_gate)
            {
                _tasks.TryGetValue(upload.Name, out previous);
            }

            if (previous is not null)
            {
                ThrowIfExists(upload);

                // Requests already admitted to the old version must still find its delta after its file is replaced.
                _ = Acquire(previous);
            }

            var entry = new TaskEntry(upload.Name, finalPath, received, bound.Metadata, DateTimeOffset.UtcNow, upload.Pin)
            {
                Bound = bound,
                LastUsedTicks = Stopwatch.GetTimestamp(),
            };
            lock (_gate)
            {
                _tasks.TryGetValue(upload.Name, out var current);
                if (current is not null && !upload.Overwrite)
                {
                    throw Exists(upload.Name);
                }

                File.Move(tempPath, finalPath, overwrite: true);
                SetPinMarker(finalPath, upload.Pin);
                _tasks[upload.Name] = entry;
                if (current is not null)
                {
                    Retire(current);
                }

                EvictOverBudget();
            }

            _logger.LogInformation("Registered task {Task} ({Kind}, {Bytes} bytes, pinned {Pinned}){Replaced}", upload.Name, KenDeltaMetadata.ToText(entry.Kind), received, upload.Pin, previous is null ? string.Empty : ", replacing the previous version");
            return entry;
        }
        finally
        {
            TryDelete(tempPath);
        }
    }

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

        bool busy;
        lock (_gate)
        {
            busy = entry.Busy > 0;
        }

        if (busy)
        {
            // Waiting requests need the delta once the file is gone.
            _ = Acquire(entry);
        }

        lock (_gate)
        {
            if (_tasks.TryGetValue(name, out var current) && ReferenceEquals(current, entry))
            {
                _tasks.Remove(name);
                Retire(entry);
                TryDelete(entry.Path);
                TryDelete(entry.Path + PinSuffix);
            }
        }

        _logger.LogInformation("Unregistered task {Task}", name);
        return entry;
    }

    /// <summary>Counts and bytes per tier, for the ken_tasks and ken_resident_bytes gauges.</summary>
    public (int Disk, int Host, int Slot, long HostBytes) TierSnapshot()
    {
        int disk = 0, host = 0, slot = 0;
        long hostBytes = 0;
        lock (_gate)
        {
            foreach (var entry in _tasks.Values)
            {
                switch (entry.Tier)
                {
                    case ResidencyTier.Disk: disk++; break;
                    case ResidencyTier.Host: host++; break;
                    default: slot++; break;
                }

                hostBytes += entry.ResidentBytes;
            }
        }

        return (disk, host, slot, hostBytes);
    }

    private static void Retire(TaskEntry entry)
    {
        entry.Retired = true;
        if (entry.Busy == 0)
        {
            entry.Bound = null;
        }
    }

    /// <summary>Drops least recently used bound deltas until host memory fits the budget. Caller holds the gate.</summary>
    private void EvictOverBudget()
    {
        long total = 0;
        foreach (var entry in _tasks.Values)
        {
            total += entry.ResidentBytes;
        }

        while (total > _options.HostDeltaBudget)
        {
            TaskEntry? victim = null;
            foreach (var entry in _tasks.Values)
            {
                if (entry.Bound is not null && !entry.Pinned && entry.Busy == 0 && (victim is null || entry.LastUsedTicks < victim.LastUsedTicks))
                {
                    victim = entry;
                }
            }

            if (victim is null)
            {
                // Everything left is pinned or in use; the budget is a target, not a hard cap.
                return;
            }

            total -= victim.ResidentBytes;
            victim.Bound = null;
            _logger.LogDebug("Evicted task {Task} from host memory (budget {Budget} bytes)", victim.Name, _options.HostDeltaBudget);
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

    private static byte[] ParseSha256(string text)
    {
        if (text is not { Length: 64 })
        {
            throw new KenException($"the upload header's sha256 is \"{text}\"; send the file's SHA-256 as 64 hex characters (e.g. from `sha256sum`).");
        }

        try
        {
            return Convert.FromHexString(text);
        }
        catch (FormatException)
        {
            throw new KenException($"the upload header's sha256 is \"{text}\"; send the file's SHA-256 as 64 hex characters (e.g. from `sha256sum`).");
        }
    }

    private static KenException Rename(KenException ex, string path, string shown)
    {
        var message = ex.Message.Replace(path, shown, StringComparison.Ordinal);
        return ex is DeltaMismatchException ? new DeltaMismatchException(message, ex) : new KenException(message, ex);
    }

    private void Quarantine(string path, string reason)
    {
        try
        {
            Directory.CreateDirectory(_options.QuarantineDir);
            var target = Path.Combine(_options.QuarantineDir, Path.GetFileName(path) + "." + DateTime.UtcNow.ToString("yyyyMMddTHHmmssfffZ", System.Globalization.CultureInfo.InvariantCulture));
            File.Move(path, target);
            TryDelete(path + PinSuffix);
            _logger.LogError("Quarantined {Path} to {Target}: {Reason}. Fix or rebuild the file and register it again.", path, target, reason);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _logger.LogError("Could not load {Path} ({Reason}) nor move it to {Quarantine} ({Error}); it is skipped. Remove it by hand.", path, reason, _options.QuarantineDir, ex.Message);
        }
    }

    private static void SetPinMarker(string taskPath, bool pin)
    {
        if (pin)
        {
            File.WriteAllBytes(taskPath + PinSuffix, []);
        }
        else
        {
            TryDelete(taskPath + PinSuffix);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: a leftover is recognizable by its name and cleaned at the next start.
        }
        catch (UnauthorizedAccessException)
        {
            // As above.
        }
    }
}
