using Ken.Cuda.Memory;

namespace Ken.Cuda.Patching;

/// <summary>
/// One full set of weight buffers on the device (one per backbone tensor, inside one allocation) plus the
/// table of their addresses the kernel reads. A CUDA backend binds ONNX Runtime's weight inputs over
/// <see cref="GetWeightAddress"/> once and never moves them; switches rewrite the contents in place.
/// </summary>
public sealed class DeviceSlot : IDisposable
{
    private readonly DeviceBuffer buffer;
    private readonly long[] offsets;
    private readonly int[] counts;

    internal DeviceSlot(DevicePatcher owner, DeviceBuffer buffer, long[] offsets, int[] counts)
    {
        Owner = owner;
        this.buffer = buffer;
        this.offsets = offsets;
        this.counts = counts;
    }

    /// <summary>The task whose weights the slot holds; null for the base weights (or after a fault).</summary>
    public DeviceTask? Task { get; internal set; }

    /// <summary>
    /// True after a switch the driver refused: the weights are then undefined (partly either task) until
    /// <see cref="DevicePatcher.Reset"/> copies the base weights back.
    /// </summary>
    public bool IsFaulted { get; internal set; }

    public bool IsDisposed => buffer.IsDisposed;

    /// <summary>Device memory the slot occupies.</summary>
    public long DeviceBytes => buffer.Bytes;

    internal DevicePatcher Owner { get; }

    internal DeviceBuffer Buffer => buffer;

    /// <summary>Device address of the slot's weight-address table (the kernel's <c>weights</c>).</summary>
    internal ulong TableAddress => buffer.Address;

    /// <summary>Device address of tensor <paramref name="tensorIndex"/>'s float32 weights, fixed for the slot's life.</summary>
    public ulong GetWeightAddress(int tensorIndex) => buffer.Address + (ulong)offsets[tensorIndex];

    /// <summary>Elements of tensor <paramref name="tensorIndex"/>.</summary>
    public int GetElementCount(int tensorIndex) => counts[tensorIndex];

    internal long GetOffset(int tensorIndex) => offsets[tensorIndex];

    /// <summary>Frees the weights once queued work is done (see <see cref="DevicePatcher.Release"/>).</summary>
    public void Dispose() => Owner.Release(this);

    internal void Free() => buffer.Dispose();
}
