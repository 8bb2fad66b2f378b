using Ken.Runtime.Backbone;
using Ken.Runtime.Patching;
using Ken.Runtime.Tasks;

namespace Ken.Runtime.Backends;

/// <summary>
/// A task bound by <see cref="ResidentBackend"/>: its own full set of reconstructed weights, bound as it is
/// when a slot switches to it.
/// </summary>
/// <remarks>
/// The registry drops bound tasks by forgetting them (host-tier eviction, unregister) while a slot may
/// still serve one, so no single owner knows when the weights are free; the finalizer returns them once
/// nothing, slot included, can reach the task. <see cref="WeightSet"/> tells the GC how large it is.
/// </remarks>
public sealed class ResidentTask : BoundTask
{
    internal ResidentTask(TaskSpec spec, WeightBinding weights, long headBytes)
        : base(spec, headBytes + weights.Weights.TotalBytes)
    {
        Weights = weights;
    }

    ~ResidentTask()
    {
        // Only the native block: the ONNX Runtime values are finalizable themselves and merely point at it.
        Weights.Weights.Dispose();
    }

    internal WeightBinding Weights { get; }
}
