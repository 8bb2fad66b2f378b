namespace Ken.Runtime.Backends.Cuda;

/// <summary>
/// The bookkeeping of the device delta tier, with no device in it: which tasks are resident, their bytes,
/// how recently each was used, which slots hold them and which names are pinned. It chooses victims when the
/// tier is over its byte budget: least recently used first, never one a slot holds, never a pinned one unless
/// a newer copy of the same task superseded it (a re-registered or rebound task). The budget is a target: what
/// is held or pinned stays even beyond it. Not thread-safe; the owner locks.
/// </summary>
/// <typeparam name="TKey">A resident task, compared by reference.</typeparam>
internal sealed class DeviceDeltaLedger<TKey>
    where TKey : class
{
    private readonly Dictionary<TKey, Entry> _entries = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<string> _pinned = new(StringComparer.Ordinal);
    private long _clock;

    public DeviceDeltaLedger(long budget)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(budget);
        Budget = budget;
    }

    public long Budget { get; }

    /// <summary>Bytes of every resident task.</summary>
    public long Bytes { get; private set; }

    public int Count => _entries.Count;

    public bool Contains(TKey key) => _entries.ContainsKey(key);

    /// <summary>Slots holding <paramref name="key"/> (0 when it is not resident).</summary>
    public int Holders(TKey key) => _entries.TryGetValue(key, out var entry) ? entry.Holders : 0;

    /// <summary>Records a task made resident; earlier resident copies with the same name become evictable even when pinned.</summary>
    public void Add(TKey key, string name, long bytes)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (_entries.ContainsKey(key))
        {
            throw new InvalidOperationException($"task '{name}' is already resident on the device");
        }

        foreach (var entry in _entries.Values)
        {
            if (entry.Name == name)
            {
                entry.Superseded = true;
            }
        }

        _entries.Add(key, new Entry(name, bytes) { LastUsed = ++_clock });
        Bytes += bytes;
    }

    /// <summary>Marks a resident task used now (it becomes the last to be evicted).</summary>
    public void Touch(TKey key) => Get(key).LastUsed = ++_clock;

    /// <summary>One more slot holds the task; it is not evicted until <see cref="Unhold"/>.</summary>
    public void Hold(TKey key)
    {
        var entry = Get(key);
        entry.Holders++;
        entry.LastUsed = ++_clock;
    }

    public void Unhold(TKey key)
    {
        var entry = Get(key);
        if (entry.Holders == 0)
        {
            throw new InvalidOperationException($"task '{entry.Name}' is not held by any slot");
        }

        entry.Holders--;
    }

    /// <summary>Pins or unpins every copy of task <paramref name="name"/>, present or future.</summary>
    public void Pin(string name, bool pinned)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (pinned)
        {
            _pinned.Add(name);
        }
        else
        {
            _pinned.Remove(name);
        }
    }

    public bool IsPinned(string name) => _pinned.Contains(name);

    /// <summary>Forgets a resident task (it was evicted by its owner).</summary>
    public void Remove(TKey key)
    {
        if (_entries.Remove(key, out var entry))
        {
            Bytes -= entry.Bytes;
        }
    }

    /// <summary>
    /// Removes and returns, least recently used first, the evictable tasks whose eviction brings the tier
    /// within its budget (after making room for <paramref name="incoming"/> more bytes); fewer when the rest is
    /// held or pinned.
    /// </summary>
    public List<TKey> TakeVictims(long incoming = 0)
    {
        var victims = new List<TKey>();
        while (Bytes + incoming > Budget && Oldest() is { } victim)
        {
            victims.Add(victim);
            Remove(victim);
        }

        return victims;
    }

    /// <summary>Removes and returns every evictable task (after the device ran out of memory).</summary>
    public List<TKey> TakeAllEvictable()
    {
        var victims = new List<TKey>();
        while (Oldest() is { } victim)
        {
            victims.Add(victim);
            Remove(victim);
        }

        return victims;
    }

    private TKey? Oldest()
    {
        TKey? oldest = null;
        long oldestUse = long.MaxValue;
        foreach (var (key, entry) in _entries)
        {
            var evictable = entry.Holders == 0 && (entry.Superseded || !_pinned.Contains(entry.Name));
            if (evictable && entry.LastUsed < oldestUse)
            {
                oldest = key;
                oldestUse = entry.LastUsed;
            }
        }

        return oldest;
    }

    private Entry Get(TKey key) =>
        _entries.TryGetValue(key, out var entry) ? entry : throw new InvalidOperationException("the task is not resident on the device");

    private sealed class Entry(string name, long bytes)
    {
        public string Name { get; } = name;

        public long Bytes { get; } = bytes;

        public long LastUsed { get; set; }

        public int Holders { get; set; }

        public bool Superseded { get; set; }
    }
}
