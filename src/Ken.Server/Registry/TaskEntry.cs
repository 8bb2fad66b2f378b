using Ken.Format.Deltas;
using Ken.Runtime.Tasks;

namespace Ken.Server.Registry;

/// <summary>
/// One registered task. Requests capture the entry they were admitted against, so replacing or
/// unregistering a task never changes what an already admitted request runs.
/// </summary>
public sealed class TaskEntry
{
    private long _requestCount;
    private long _swapCount;
    private int _holds;
    private volatile bool _pinned;

    internal TaskEntry(string name, string path, long fileBytes, KenDeltaMetadata metadata, DateTimeOffset registeredAt, bool pinned, StoreStamp? stamp = null)
    {
        Name = name;
        Path = path;
        FileBytes = fileBytes;
        Metadata = metadata;
        RegisteredAt = registeredAt;
        _pinned = pinned;
        Stamp = stamp;
    }

    public string Name { get; }

    /// <summary>The registry file this entry was loaded from.</summary>
    public string Path { get; }

    public long FileBytes { get; }

    public KenDeltaMetadata Metadata { get; }

    public TaskKind Kind => Metadata.Kind;

    public DateTimeOffset RegisteredAt { get; }

    /// <summary>Kept in host memory; in a shared registry another replica's registration may change it.</summary>
    public bool Pinned
    {
        get => _pinned;
        internal set => _pinned = value;
    }

    /// <summary>Which version of the registry file this entry serves; null when not known (never for a shared registry).</summary>
    internal StoreStamp? Stamp { get; }

    /// <summary>The bound delta while it is in host memory; null when only on disk. Guarded by the <see cref="HostTier"/>.</summary>
    internal BoundTask? Bound { get; set; }

    /// <summary>Last time the bound delta was used, for host LRU. Guarded by the <see cref="HostTier"/>.</summary>
    internal long LastUsedTicks { get; set; }

    /// <summary>Requests admitted and not yet finished; a busy entry is never evicted from host memory. Guarded by the <see cref="HostTier"/>.</summary>
    internal int Busy { get; set; }

    /// <summary>
    /// Weight slots holding <see cref="Bound"/> now (see <see cref="ISlotHoldings"/>); a held entry is never
    /// evicted from host memory. Written under the <see cref="HostTier"/>'s lock, read without it for <see cref="Tier"/>.
    /// </summary>
    internal int Holds
    {
        get => Volatile.Read(ref _holds);
        set => Volatile.Write(ref _holds, value);
    }

    /// <summary>Unregistered or replaced; its file may be gone, so its bound delta must stay until no request or slot uses it.</summary>
    public bool Retired { get; internal set; }

    public long RequestCount => Interlocked.Read(ref _requestCount);

    public long SwapCount => Interlocked.Read(ref _swapCount);

    public long ResidentBytes => Bound?.ResidentBytes ?? 0;

    public ResidencyTier Tier => Holds > 0 ? ResidencyTier.Slot
        : Bound is { } bound ? (bound.IsOnDevice ? ResidencyTier.Device : ResidencyTier.Host)
        : ResidencyTier.Disk;

    internal void CountRequest() => Interlocked.Increment(ref _requestCount);

    internal void CountSwap() => Interlocked.Increment(ref _swapCount);
}
