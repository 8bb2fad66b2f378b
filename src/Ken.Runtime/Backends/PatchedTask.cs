using Ken.Runtime.Patching;
using Ken.Runtime.Tasks;

namespace Ken.Runtime.Backends;

/// <summary>A task bound by <see cref="PatchingBackend"/>: its patches in physical layout, ready to stream into a slot.</summary>
public sealed class PatchedTask : BoundTask
{
    internal PatchedTask(TaskSpec spec, PatchSet patches, long headBytes)
        : base(spec, headBytes + patches.Bytes)
    {
        Patches = patches;
    }

    public PatchSet Patches { get; }

    /// <summary>The lines its patches touch: a switch restores them to pristine or writes them.</summary>
    public override long SwitchBytes => Patches.TouchedBytes;
}
