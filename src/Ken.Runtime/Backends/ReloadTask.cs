using Ken.Format.Deltas;
using Ken.Runtime.Tasks;

namespace Ken.Runtime.Backends;

/// <summary>
/// A task bound by <see cref="ReloadBackend"/>: its patched tensors in canonical layout, from which each
/// switch rebuilds the full weights.
/// </summary>
public sealed class ReloadTask : BoundTask
{
    internal ReloadTask(TaskSpec spec, IReadOnlyList<PatchedTensor> patched, long headBytes)
        : base(spec, headBytes + CanonicalBytes(patched))
    {
        Patched = patched;
        long values = 0;
        foreach (var tensor in patched)
        {
            values += tensor.KeptCount;
        }

        ValueCount = values;
    }

    public IReadOnlyList<PatchedTensor> Patched { get; }

    public long ValueCount { get; }

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
