using Ken.Format.Deltas;
using Ken.Runtime.Patching;

namespace Ken.Runtime.Backends;

/// <summary>
/// What <see cref="ReloadBackend"/> keeps in <see cref="BoundTask.State"/>: the task's head and its
/// patched tensors in canonical layout, from which each switch rebuilds the full weights.
/// </summary>
internal sealed class ReloadTask
{
    public ReloadTask(PreparedTask heads, IReadOnlyList<PatchedTensor> patched)
    {
        Heads = heads;
        Patched = patched;
        long values = 0;
        foreach (var tensor in patched)
        {
            values += tensor.KeptCount;
        }

        ValueCount = values;
    }

    /// <summary>Pooler and classifier; its patch list is empty, the session's initializers hold the task.</summary>
    public PreparedTask Heads { get; }

    public IReadOnlyList<PatchedTensor> Patched { get; }

    public long ValueCount { get; }
}
