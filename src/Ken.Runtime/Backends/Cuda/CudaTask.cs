using Ken.Cuda.Patching;
using Ken.Runtime.Patching;
using Ken.Runtime.Tasks;

namespace Ken.Runtime.Backends.Cuda;

/// <summary>
/// A task bound by <see cref="CudaBackend"/>: its patches in host memory (the host tier), uploaded to the
/// device tier when a slot first switches to it.
/// </summary>
public sealed class CudaTask : BoundTask
{
    private readonly Func<CudaTask, bool> _onDevice;

    internal CudaTask(TaskSpec spec, PatchSet patches, long headBytes, Func<CudaTask, bool> onDevice)
        : base(spec, headBytes + patches.Bytes)
    {
        Patches = patches;
        _onDevice = onDevice;
    }

    public PatchSet Patches { get; }

    /// <summary>True while the task's delta is resident in device memory.</summary>
    public override bool IsOnDevice => _onDevice(this);

    /// <summary>The patches as the device patcher takes them (float32 values, copied for the upload).</summary>
    internal IReadOnlyList<TensorPatch> ToTensorPatches()
    {
        var patches = new TensorPatch[Patches.Patches.Count];
        for (var i = 0; i < patches.Length; i++)
        {
            var patch = Patches.Patches[i];
            patches[i] = TensorPatch.FromSingles(patch.TensorIndex, patch.Mask, patch.Values);
        }

        return patches;
    }
}
