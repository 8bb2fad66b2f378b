using Ken.Cuda.Driver;

namespace Ken.Cuda.Memory;

/// <summary>
/// One device allocation (<c>cuMemAlloc</c>). Copies are asynchronous on a stream and move data only
/// between device memory and <see cref="PinnedHostBuffer"/>s, the one kind of host memory the driver
/// copies from without staging it synchronously itself. Dispose frees it; the caller must know no
/// queued work still uses it (synchronize the stream first), because the driver does not promise to wait.
/// </summary>
public sealed unsafe class DeviceBuffer : IDisposable
{
    private bool disposed;

    private DeviceBuffer(PrimaryContext context, ulong address, long bytes)
    {
        Context = context;
        Address = address;
        Bytes = bytes;
    }

    public PrimaryContext Context { get; }

    /// <summary>The <c>CUdeviceptr</c> of the first byte.</summary>
    public ulong Address { get; }

    public long Bytes { get; }

    public bool IsDisposed => disposed;

    /// <exception cref="CudaException">Out of device memory (<c>CUDA_ERROR_OUT_OF_MEMORY</c>) or another driver failure.</exception>
    public static DeviceBuffer Allocate(PrimaryContext context, long bytes)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        context.MakeCurrent();
        ulong address;
        CudaDriver.Check(CudaNative.cuMemAlloc(&address, (nuint)bytes), "cuMemAlloc_v2");
        return new DeviceBuffer(context, address, bytes);
    }

    /// <summary>Queues a copy of <paramref name="bytes"/> bytes from pinned host memory to <paramref name="offset"/>.</summary>
    public void CopyFromHostAsync(long offset, PinnedHostBuffer source, long sourceOffset, long bytes, CudaStream stream)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(stream);
        CheckRange(offset, bytes);
        source.CheckRange(sourceOffset, bytes);
        Context.MakeCurrent();
        CudaDriver.Check(
            CudaNative.cuMemcpyHtoDAsync(Address + (ulong)offset, (byte*)source.Address + sourceOffset, (nuint)bytes, stream.Handle),
            "cuMemcpyHtoDAsync_v2");
    }

    /// <summary>Queues a copy of <paramref name="bytes"/> bytes from <paramref name="offset"/> to pinned host memory.</summary>
    public void CopyToHostAsync(long offset, PinnedHostBuffer destination, long destinationOffset, long bytes, CudaStream stream)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(stream);
        CheckRange(offset, bytes);
        destination.CheckRange(destinationOffset, bytes);
        Context.MakeCurrent();
        CudaDriver.Check(
            CudaNative.cuMemcpyDtoHAsync((byte*)destination.Address + destinationOffset, Address + (ulong)offset, (nuint)bytes, stream.Handle),
            "cuMemcpyDtoHAsync_v2");
    }

    /// <summary>Queues a device-to-device copy from another buffer.</summary>
    public void CopyFromDeviceAsync(long offset, DeviceBuffer source, long sourceOffset, long bytes, CudaStream stream)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(stream);
        CheckRange(offset, bytes);
        source.CheckRange(sourceOffset, bytes);
        Context.MakeCurrent();
        CudaDriver.Check(
            CudaNative.cuMemcpyDtoDAsync(Address + (ulong)offset, source.Address + (ulong)sourceOffset, (nuint)bytes, stream.Handle),
            "cuMemcpyDtoDAsync_v2");
    }

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        Context.MakeCurrent();
        CudaDriver.Check(CudaNative.cuMemFree(Address), "cuMemFree_v2");
    }

    internal void CheckRange(long offset, long bytes)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (offset < 0 || bytes < 0 || offset > Bytes - bytes)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes {offset}..{offset + bytes} lie outside a device buffer of {Bytes} bytes");
        }
    }
}
