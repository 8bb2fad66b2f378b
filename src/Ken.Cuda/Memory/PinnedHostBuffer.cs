using Ken.Cuda.Driver;

namespace Ken.Cuda.Memory;

/// <summary>
/// Page-locked host memory (<c>cuMemAllocHost</c>): the source or target of asynchronous copies. A
/// region handed to a queued copy must not be touched until the stream has passed that copy.
/// </summary>
public sealed unsafe class PinnedHostBuffer : IDisposable
{
    private bool disposed;

    private PinnedHostBuffer(PrimaryContext context, nint address, long bytes)
    {
        Context = context;
        Address = address;
        Bytes = bytes;
    }

    public PrimaryContext Context { get; }

    public nint Address { get; }

    public long Bytes { get; }

    public static PinnedHostBuffer Allocate(PrimaryContext context, long bytes)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        context.MakeCurrent();
        void* address;
        CudaDriver.Check(CudaNative.cuMemAllocHost(&address, (nuint)bytes), "cuMemAllocHost_v2");
        return new PinnedHostBuffer(context, (nint)address, bytes);
    }

    public Span<byte> AsSpan(long offset, int length)
    {
        CheckRange(offset, length);
        return new Span<byte>((byte*)Address + offset, length);
    }

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        Context.MakeCurrent();
        CudaDriver.Check(CudaNative.cuMemFreeHost((void*)Address), "cuMemFreeHost");
    }

    internal void CheckRange(long offset, long bytes)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (offset < 0 || bytes < 0 || offset > Bytes - bytes)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes {offset}..{offset + bytes} lie outside a pinned buffer of {Bytes} bytes");
        }
    }
}
