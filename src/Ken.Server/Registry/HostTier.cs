using System.Diagnostics;
using Ken.Runtime.Tasks;

using Ken.Runtime.Backends;
using Ken.Server.Telemetry;

namespace Ken.Server.Registry;

/// <summary>
/// Bound deltas in host memory within a byte budget. Beyond it the least recently used delta goes
/// first, back to disk; a delta that is pinned, admitted by a request or held by a slot stays, so the
/// budget is a target, not a hard cap. Entries stay here after they are retired for as long as a
/// request or a slot uses them, so <see cref="ResidentBytes"/> is what host memory really holds.
/// </summary>
internal sealed class HostTier
{
    private readonly Lock _gate = new();
    private readonly HashSet<TaskEntry> _resident = new(ReferenceEqualityComparer.Instance);
    private readonly long _budget;
    private readonly Func<TaskEntry, BoundTask> _rebind;
    private readonly ILogger _logger;
    private long _bytes;

    /// <param name="budget">Bytes of bound deltas to keep.</param>
    /// <param name="rebind">Reads and binds an evicted entry's file again.</param>
    /// <param name="logger">Where evictions are logged.</param>
    public HostTier(long budget, Func<TaskEntry, BoundTask> rebind, ILogger logger)
    {
        _budget = budget;
        _rebind = rebind;
        _logger = logger;
    }

    /// <summary>Bytes of all bound deltas in host memory, of registered and retired entries alike.</summary>
    public long ResidentBytes
    {
        get
        {
            lock (_gate)
            {
                return _bytes;
            }
        }
    }

    /// <summary>Makes a freshly read and bound delta resident for <paramref name="entry"/>.</summary>
    public void Add(TaskEntry entry, BoundTask bound)
    {
        lock (_gate)
        {
            Attach(entry, bound);
            EvictOverBudget();
        }
    }

    /// <summary>One more request uses <paramref name="entry"/>; until <see cref="Release"/> it is not evicted.</summary>
    public void Admit(TaskEntry entry)
    {
        lock (_gate)
        {
            entry.Busy++;
        }
    }

    public void Release(TaskEntry entry)
    {
        lock (_gate)
        {
            entry.Busy--;
            Settle(entry);
        }
    }

    /// <summary>Whether a request admitted for <paramref name="entry"/> has not finished yet.</summary>
    public bool IsBusy(TaskEntry entry)
    {
        lock (_gate)
        {
            return entry.Busy > 0;
        }
    }

    /// <summary>The entry's bound delta, reading and binding its file again if it was evicted.</summary>
    public BoundTask Acquire(TaskEntry entry) => Acquire(entry, hold: false);

    /// <summary>As <see cref="Acquire(TaskEntry)"/>, and one more slot holds it until <see cref="Unhold"/>.</summary>
    public BoundTask Hold(TaskEntry entry) => Acquire(entry, hold: true);

    public void Unhold(TaskEntry entry)
    {
        lock (_gate)
        {
            entry.Holds--;
            Settle(entry);
        }
    }

    /// <summary>The entry was unregistered or replaced: its delta goes as soon as no request or slot uses it.</summary>
    public void Retire(TaskEntry entry)
    {
        lock (_gate)
        {
            entry.Retired = true;
            Settle(entry);
        }
    }

    private BoundTask Acquire(TaskEntry entry, bool hold)
    {
        lock (_gate)
        {
            if (TryUse(entry, hold) is { } bound)
            {
                return bound;
            }
        }

        // Binding can take a while; one entry binds at most once at a time, other tasks go on.
        lock (entry)
        {
            lock (_gate)
            {
                if (TryUse(entry, hold) is { } bound)
                {
                    return bound;
                }
            }

            var fresh = _rebind(entry);
            lock (_gate)
            {
                Attach(entry, fresh);
                if (hold)
                {
                    entry.Holds++;
                }

                EvictOverBudget();
                return fresh;
            }
        }
    }

    /// <summary>The resident delta, marked used (and held); null when it is only on disk. Caller holds the gate.</summary>
    private static BoundTask? TryUse(TaskEntry entry, bool hold)
    {
        if (entry.Bound is not { } bound)
        {
            return null;
        }

        entry.LastUsedTicks = Stopwatch.GetTimestamp();
        if (hold)
        {
            entry.Holds++;
        }

        return bound;
    }

    /// <summary>Caller holds the gate.</summary>
    private void Attach(TaskEntry entry, BoundTask bound)
    {
        Debug.Assert(entry.Bound is null, "an entry holds one bound delta at a time");
        entry.Bound = bound;
        entry.LastUsedTicks = Stopwatch.GetTimestamp();
        _resident.Add(entry);
        _bytes += bound.ResidentBytes;
    }

    /// <summary>Caller holds the gate.</summary>
    private void Detach(TaskEntry entry)
    {
        if (entry.Bound is { } bound)
        {
            _bytes -= bound.ResidentBytes;
            entry.Bound = null;
        }

        _resident.Remove(entry);
    }

    private static bool InUse(TaskEntry entry) => entry.Busy > 0 || entry.Holds > 0;

    /// <summary>After a request or slot let <paramref name="entry"/> go. Caller holds the gate.</summary>
    private void Settle(TaskEntry entry)
    {
        if (entry.Retired && !InUse(entry))
        {
            Detach(entry);
        }

        EvictOverBudget();
    }

    /// <summary>Drops least recently used idle deltas until host memory fits the budget. Caller holds the gate.</summary>
    private void EvictOverBudget()
    {
        while (_bytes > _budget)
        {
            TaskEntry? victim = null;
            foreach (var entry in _resident)
            {
                if (!entry.Pinned && !InUse(entry) && (victim is null || entry.LastUsedTicks < victim.LastUsedTicks))
                {
                    victim = entry;
                }
            }

            if (victim is null)
            {
                // Everything left is pinned or in use.
                return;
            }

            Detach(victim);
            _logger.TaskEvicted(victim.Name, _budget);
        }
    }
}
