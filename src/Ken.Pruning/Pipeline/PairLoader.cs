using System.Runtime.InteropServices;
using Ken.Format.Checkpoints;
using Ken.Format.Deltas;

namespace Ken.Pruning.Pipeline;

/// <summary>
/// Reads and checks the plan's tensor pairs in order, reading the next small pair on a background
/// task while the caller selects the current one, so the single-threaded reading, comparing,
/// finite checks and fingerprinting do not leave a core idle.
/// </summary>
/// <remarks>
/// Two buffer sets: set 0 holds every pair read in the foreground and grows to the largest tensor;
/// set 1 only ever holds prefetched pairs, which are at most <see cref="PrefetchLimit"/> elements,
/// so prefetching costs at most two such buffers of memory. Errors from a prefetched pair surface
/// when the caller moves on to it, in plan order, as without prefetching.
/// </remarks>
internal sealed class PairLoader : IDisposable
{
    /// <summary>Largest tensor read ahead: 4 Mi elements (two 16 MiB buffers).</summary>
    internal const long PrefetchLimit = 4L << 20;

    private readonly ICheckpoint _baseModel;
    private readonly ICheckpoint _finetuned;
    private readonly PruneOptions _options;
    private readonly IReadOnlyList<TensorPair> _pairs;
    private readonly bool _prefetch;
    private readonly float[][] _base = [[], []];
    private readonly float[][] _tuned = [[], []];
    private int _next;
    private int _currentSet;
    private Task<LoadedPair>? _pending;

    internal PairLoader(ICheckpoint baseModel, ICheckpoint finetuned, IReadOnlyList<TensorPair> pairs, PruneOptions options, bool prefetch)
    {
        _baseModel = baseModel;
        _finetuned = finetuned;
        _pairs = pairs;
        _options = options;
        _prefetch = prefetch;
    }

    /// <summary>
    /// The next pair, read and checked. Its buffers stay valid until the following call. Starts
    /// reading the pair after it when that one is small enough.
    /// </summary>
    internal LoadedPair Next()
    {
        if (_next >= _pairs.Count)
        {
            throw new InvalidOperationException("every pair has been loaded");
        }

        LoadedPair current;
        if (_pending is not null)
        {
            var pending = _pending;
            _pending = null;
            current = pending.GetAwaiter().GetResult();
            _currentSet = 1 - _currentSet;
        }
        else
        {
            _currentSet = 0;
            current = Load(_pairs[_next], 0);
        }

        _next++;
        if (_prefetch && _next < _pairs.Count && _pairs[_next].Base.ElementCount <= PrefetchLimit)
        {
            var pair = _pairs[_next];
            int set = 1 - _currentSet;
            _pending = Task.Run(() => Load(pair, set));
        }

        return current;
    }

    /// <summary>Waits for a read still running, so nothing touches the checkpoints afterwards.</summary>
    public void Dispose()
    {
        var pending = _pending;
        _pending = null;
        if (pending is not null)
        {
            try
            {
                pending.Wait();
            }
            catch (AggregateException)
            {
                // The caller is already leaving (an error or cancellation); this pair's own error
                // would have surfaced only once the caller reached it.
            }
        }
    }

    private static float[] Buffer(float[][] sets, int set, int length)
    {
        if (sets[set].Length < length)
        {
            sets[set] = new float[length];
        }

        return sets[set];
    }

    private LoadedPair Load(TensorPair pair, int set)
    {
        int numel = checked((int)pair.Base.ElementCount);
        float[] baseBuffer = Buffer(_base, set, numel);
        float[] tunedBuffer = Buffer(_tuned, set, numel);
        var b = baseBuffer.AsSpan(0, numel);
        var f = tunedBuffer.AsSpan(0, numel);
        _baseModel.ReadFloat32(pair.Base.Name, b);
        _finetuned.ReadFloat32(pair.Finetuned.Name, f);

        bool identical = MemoryMarshal.AsBytes(b).SequenceEqual(MemoryMarshal.AsBytes(f));
        if (identical || !TensorGlob.Selects(pair.Base.Name, _options.Include, _options.Exclude))
        {
            return new LoadedPair(pair, baseBuffer, tunedBuffer, Selected: false, Fingerprint: 0, pair.Finetuned.DType);
        }

        FiniteCheck.Ensure(f, pair.Finetuned, _finetuned.Source);
        FiniteCheck.Ensure(b, pair.Base, _baseModel.Source);
        var dtype = _options.ValuesDType ?? pair.Finetuned.DType;
        return new LoadedPair(pair, baseBuffer, tunedBuffer, Selected: true, TensorFingerprint.Compute(b), dtype);
    }
}
