using Ken.Format.Deltas;
using Ken.Runtime.Heads;

namespace Ken.Runtime.Tasks;

/// <summary>
/// What a task is, whatever backend serves it: its kind, labels, pooling, normalization and head layers.
/// </summary>
public sealed class TaskSpec
{
    public TaskSpec(KenDeltaMetadata metadata, TaskHeads heads)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(heads);
        Metadata = metadata;
        Heads = heads;
    }

    /// <summary>The delta's metadata as stored in its file.</summary>
    public KenDeltaMetadata Metadata { get; }

    public string Name => Metadata.Task;

    public TaskKind Kind => Metadata.Kind;

    public IReadOnlyList<string> Labels => Metadata.Labels;

    public PoolingMode Pooling => Metadata.Pooling;

    public bool Normalize => Metadata.Normalize;

    public TaskHeads Heads { get; }
}
