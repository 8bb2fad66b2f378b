using Ken.Format.Deltas;

namespace Ken.Runtime.Backends;

/// <summary>
/// A task delta validated against the backbone and converted once into the backbone's physical
/// layout, ready to be patched into a slot. Implementations keep their prepared data in
/// <see cref="State"/>; everything else describes the task.
/// </summary>
public sealed class BoundTask
{
    public BoundTask(KenDeltaMetadata metadata, long residentBytes, object state)
    {
        Metadata = metadata;
        ResidentBytes = residentBytes;
        State = state;
    }

    public KenDeltaMetadata Metadata { get; }

    public string Name => Metadata.Task;

    public TaskKind Kind => Metadata.Kind;

    public IReadOnlyList<string> Labels => Metadata.Labels;

    /// <summary>Bytes this bound task holds in memory (masks, values, head).</summary>
    public long ResidentBytes { get; }

    /// <summary>The backend's prepared form of the delta (e.g. physical-layout masks and values).</summary>
    public object State { get; }
}
