namespace Ken.Server.Registry;

/// <summary>What the registry is configured with; the host binds it from the server's options.</summary>
public sealed record RegistryOptions
{
    /// <summary>Folder of the registered <c>.ken</c> files.</summary>
    public required string TasksDir { get; init; }

    /// <summary>Folder that files which fail to load at start-up are moved to.</summary>
    public required string QuarantineDir { get; init; }

    /// <summary>Bytes of bound deltas kept in host memory; beyond it idle, unpinned tasks are evicted (LRU).</summary>
    public required long HostDeltaBudget { get; init; }

    /// <summary>
    /// Every registered task must stay bound in host memory (<c>--swap-mode resident</c>, where a bound task
    /// is a whole weight set: evicting one would rebuild it on its next request, so a small budget would
    /// rebuild copies per request). Then a budget too small for every task is refused, at start-up and at
    /// registration, with the bytes it needs; nothing is ever evicted.
    /// </summary>
    public bool KeepEveryTask { get; init; }

    /// <summary>Largest .ken file an upload may declare.</summary>
    public required long MaxTaskBytes { get; init; }

    /// <summary>
    /// <see cref="TasksDir"/> is shared with other replicas (<c>--registry-dir</c>): the registry follows what
    /// they publish (<see cref="StoreWatcher"/>), looks in the folder for a name it does not know before
    /// answering NOT_FOUND, and never moves or deletes a file it merely failed to load.
    /// </summary>
    public bool Shared { get; init; }

    /// <summary>How often a <see cref="Shared"/> folder is listed for changes.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(500);
}
