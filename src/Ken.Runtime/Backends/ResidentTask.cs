using Ken.Runtime.Backbone;
using Ken.Runtime.Patching;

namespace Ken.Runtime.Backends;

/// <summary>
/// What <see cref="ResidentBackend"/> keeps in <see cref="BoundTask.State"/>: the task's head and its
/// own full set of reconstructed weights.
/// </summary>
/// <remarks>
/// The registry drops bound tasks by forgetting them (host-tier eviction, unregister) while a slot may
/// still serve one, so no single owner knows when the weights are free; the finalizer returns them once
/// nothing, slot included, can reach the task. <see cref="WeightSet"/> tells the GC how large it is.
/// </remarks>
internal sealed class ResidentTask : IDisposable
{
    private readonly WeightBinding _weights;

    public ResidentTask(PreparedTask heads, WeightBinding weights)
    {
        Heads = heads;
        _weights = weights;
    }

    ~ResidentTask()
    {
        // Only the native block: the ONNX Runtime values are finalizable themselves and merely point at it.
        _weights.Weights.Dispose();
    }

    /// <summary>Pooler and classifier; its patch list is empty, the weights already hold the task.</summary>
    public PreparedTask Heads { get; }

    public WeightBinding Weights => _weights;

    public void Dispose()
    {
        _weights.Dispose();
        GC.SuppressFinalize(this);
    }
}
