using Ken.Format.Deltas;
using Ken.Runtime.Tasks;

namespace Ken.Runtime.Backends;

/// <summary>
/// A task bound by <see cref="ReloadBackend"/>: its patched tensors in canonical layout, from which each
/// switch rebuilds the full weights.
/// </summary>
public sealed class ReloadTask : BoundTask
{
    internal ReloadTask(TaskSpec spec, IReadOnlyList<PatchedTensor> patched, long headBytes, long weightBytes)
        : base(spec, headBytes + CanonicalBytes(patched))
    {
        Patched = patched;
        SwitchBytes = weightBytes;
        long values = 0;
        foreach (var tensor in patched)
        {
            values += tensor.KeptCount;
        }

        ValueCount = values;
    }

    public IReadOnlyList<PatchedTensor> Patched { get; }

    public long ValueCount { get; }

    /// <summary>Every weight: a switch rebuilds the whole session.</summary>
    public override long SwitchBytes { get; }

    private static long CanonicalBytes(IReadOnlyList<PatchedTensor> patched)
    {
        long bytes = 0;
        foreach (var tensor in patched)
        {
            bytes += tensor.Mask.LongLength + (tensor.Values.LongLength * sizeof(float));
        }

        return bytes;
    }
}
