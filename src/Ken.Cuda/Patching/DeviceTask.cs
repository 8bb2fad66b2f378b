using Ken.Cuda.Memory;

namespace Ken.Cuda.Patching;

/// <summary>
/// A task bound to the device by <see cref="DevicePatcher.Bind"/>: its masks (padded to 32-bit words), the
/// per-word prefix counts of its masks, its values, and its descriptor table, all in one device allocation.
/// It stays there until <see cref="DevicePatcher.Evict"/>; a slot holding it keeps it from being evicted.
/// </summary>
public sealed class DeviceTask
{
    private readonly DeviceBuffer buffer;

    internal DeviceTask(DevicePatcher owner, DeviceBuffer buffer, int patchedTensors, long valueCount)
    {
        Owner = owner;
        this.buffer = buffer;
        PatchedTensorCount = patchedTensors;
        ValueCount = valueCount;
    }

    /// <summary>Tensors the task patches.</summary>
    public int PatchedTensorCount { get; }

    /// <summary>Kept values over all tensors.</summary>
    public long ValueCount { get; }

    /// <summary>Device memory the task occupies, for residency budgets.</summary>
    public long DeviceBytes => buffer.Bytes;

    /// <summary>Slots currently holding the task.</summary>
    public int HolderCount { get; internal set; }

    public bool IsEvicted => buffer.IsDisposed;

    internal DevicePatcher Owner { get; }

    /// <summary>Device address of the task's descriptor table (the kernel's <c>from</c>/<c>to</c>).</summary>
    internal ulong TableAddress => buffer.Address;

    internal void Free() => buffer.Dispose();
}
