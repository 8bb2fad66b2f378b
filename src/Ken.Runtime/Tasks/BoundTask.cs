using Ken.Format.Deltas;

namespace Ken.Runtime.Tasks;

/// <summary>
/// A task delta validated against a backbone and prepared by one backend for its swaps. Each backend has its
/// own subclass holding what it needs (physical patches, canonical tensors, a whole weight set); the
/// description of the task itself is the backend-neutral <see cref="Spec"/>.
/// </summary>
public abstract class BoundTask
{
    protected BoundTask(TaskSpec spec, long residentBytes)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentOutOfRangeException.ThrowIfNegative(residentBytes);
        Spec = spec;
        ResidentBytes = residentBytes;
    }

    public TaskSpec Spec { get; }

    public KenDeltaMetadata Metadata => Spec.Metadata;

    public string Name => Spec.Name;

    public TaskKind Kind => Spec.Kind;

    public IReadOnlyList<string> Labels => Spec.Labels;

    /// <summary>Bytes this bound task holds in memory (masks, values, head, or whole weights).</summary>
    public long ResidentBytes { get; }

    /// <summary>True while the task's delta is also resident in accelerator memory (the device tier).</summary>
    public virtual bool IsOnDevice => false;

    /// <summary>
    /// Bytes of slot weights a switch to (or away from) this task moves, measured at bind: the 64-byte lines
    /// its patches touch when patching in place, nothing when a switch only rebinds, a whole weight set when
    /// a switch rebuilds the session. The scheduler weighs it against the task's queued work.
    /// </summary>
    public virtual long SwitchBytes => 0;
}
