using System.Collections.Concurrent;
using Ken.Cuda.Driver;
using Ken.Cuda.Patching;

namespace Ken.Runtime.Backends.Cuda;

/// <summary>
/// Task deltas resident in device memory within a byte budget, above the host tier: a slot switching to a
/// task that is not on the device uploads it first (through the patcher's pinned staging buffer, on the
/// patcher's stream), and deltas no slot holds are evicted least recently used first once the tier is over
/// budget (<see cref="DeviceDeltaLedger{TKey}"/> chooses). A device that runs out of memory during an upload
/// gets every evictable delta freed and one more try.
/// </summary>
/// <typeparam name="TKey">A bound task, compared by reference.</typeparam>
internal sealed class DeviceDeltaTier<TKey>
    where TKey : class
{
    private const int OutOfMemory = 2; // CUDA_ERROR_OUT_OF_MEMORY

    private readonly Lock _gate = new();
    private readonly DevicePatcher _patcher;
    private readonly Func<TKey, string> _name;
    private readonly Func<TKey, IReadOnlyList<TensorPatch>> _patches;
    private readonly DeviceDeltaLedger<TKey> _ledger;
    private readonly Dictionary<TKey, DeviceTask> _resident = new(ReferenceEqualityComparer.Instance);

    // Read without the gate, which an upload holds for its whole length: metrics and task tiers must not wait on it.
    private readonly ConcurrentDictionary<TKey, bool> _visible = new(ReferenceEqualityComparer.Instance);
    private long _bytes;
    private long _uploads;
    private long _evictions;

    /// <param name="patcher">Binds and evicts on the device; not owned.</param>
    /// <param name="budget">Bytes of deltas to keep on the device.</param>
    /// <param name="name">The task's name (pins are by name).</param>
    /// <param name="patches">The task's patches, made when it is uploaded.</param>
    public DeviceDeltaTier(DevicePatcher patcher, long budget, Func<TKey, string> name, Func<TKey, IReadOnlyList<TensorPatch>> patches)
    {
        ArgumentNullException.ThrowIfNull(patcher);
        _patcher = patcher;
        _name = name;
        _patches = patches;
        _ledger = new DeviceDeltaLedger<TKey>(budget);
    }

    /// <summary>Device bytes of every resident delta.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    public int Count => _visible.Count;

    /// <summary>Uploads made on a miss.</summary>
    public long Uploads => Interlocked.Read(ref _uploads);

    public long Evictions => Interlocked.Read(ref _evictions);

    public bool IsResident(TKey key) => _visible.ContainsKey(key);

    /// <summary>Slots holding <paramref name="key"/> through this tier.</summary>
    public int Holders(TKey key)
    {
        lock (_gate)
        {
            return _ledger.Holders(key);
        }
    }

    /// <summary>
    /// The task on the device (uploaded on a miss), held for one more slot until <see cref="Release"/>.
    /// Throws <see cref="CudaException"/> when the upload fails even after evicting every idle delta.
    /// </summary>
    public DeviceTask AcquireHeld(TKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_gate)
        {
            if (_resident.TryGetValue(key, out var present))
            {
                _ledger.Hold(key);
                return present;
            }

            var patches = _patches(key);
            DeviceTask bound;
            try
            {
                bound = _patcher.Bind(patches);
            }
            catch (CudaException ex) when (ex.Result == OutOfMemory)
            {
                Evict(_ledger.TakeAllEvictable());
                Interlocked.Exchange(ref _bytes, _ledger.Bytes);
                bound = _patcher.Bind(patches);
            }

            Interlocked.Increment(ref _uploads);
            _resident.Add(key, bound);
            _ledger.Add(key, _name(key), bound.DeviceBytes);
            _ledger.Hold(key);
            _visible[key] = true;
            Evict(_ledger.TakeVictims());
            Interlocked.Exchange(ref _bytes, _ledger.Bytes);
            return bound;
        }
    }

    /// <summary>A slot stopped holding <paramref name="key"/>; it may now be evicted.</summary>
    public void Release(TKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_gate)
        {
            _ledger.Unhold(key);
            Evict(_ledger.TakeVictims());
            Interlocked.Exchange(ref _bytes, _ledger.Bytes);
        }
    }

    /// <summary>Pins or unpins task <paramref name="name"/>: a pinned delta stays on the device once uploaded.</summary>
    public void Pin(string name, bool pinned)
    {
        lock (_gate)
        {
            _ledger.Pin(name, pinned);
            if (!pinned)
            {
                Evict(_ledger.TakeVictims());
                Interlocked.Exchange(ref _bytes, _ledger.Bytes);
            }
        }
    }

    /// <summary>Caller holds the gate.</summary>
    private void Evict(List<TKey> victims)
    {
        foreach (var victim in victims)
        {
            _visible.TryRemove(victim, out _);
            if (_resident.Remove(victim, out var task))
            {
                _patcher.Evict(task);
                Interlocked.Increment(ref _evictions);
            }
        }
    }
}
