using System.Diagnostics.CodeAnalysis;

namespace Ken.Cuda.Driver;

/// <summary>
/// A CUDA stream: created here (owned, destroyed on dispose), or wrapping a handle someone else owns.
/// The CUDA backend creates one and hands <see cref="Handle"/> to ONNX Runtime as its
/// <c>user_compute_stream</c>, so patch launches and inference runs are ordered on one queue
/// without host synchronization.
/// </summary>
[SuppressMessage("Naming", "CA1711", Justification = "A CUDA stream is the driver's name for a work queue, not a System.IO.Stream.")]
public sealed unsafe class CudaStream : IDisposable
{
    // CU_STREAM_NON_BLOCKING: no implicit synchronization with the legacy default stream.
    private const uint NonBlocking = 1;

    private bool disposed;

    private CudaStream(PrimaryContext context, nint handle, bool ownsHandle)
    {
        Context = context;
        Handle = handle;
        OwnsHandle = ownsHandle;
    }

    public PrimaryContext Context { get; }

    /// <summary>The <c>CUstream</c> handle.</summary>
    public nint Handle { get; }

    /// <summary>True when disposing destroys the stream.</summary>
    public bool OwnsHandle { get; }

    /// <summary>Creates a non-blocking stream in <paramref name="context"/>.</summary>
    public static CudaStream Create(PrimaryContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.MakeCurrent();
        nint handle;
        CudaDriver.Check(CudaNative.cuStreamCreate(&handle, NonBlocking), "cuStreamCreate");
        return new CudaStream(context, handle, ownsHandle: true);
    }

    /// <summary>Wraps a stream created elsewhere; disposing the wrapper leaves it alive.</summary>
    public static CudaStream Wrap(PrimaryContext context, nint handle)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new CudaStream(context, handle, ownsHandle: false);
    }

    /// <summary>Blocks until everything queued on the stream has finished; reports asynchronous failures.</summary>
    public void Synchronize()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        Context.MakeCurrent();
        CudaDriver.Check(CudaNative.cuStreamSynchronize(Handle), "cuStreamSynchronize");
    }

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        if (OwnsHandle)
        {
            // Queued work still completes; the driver frees the stream afterwards.
            Context.MakeCurrent();
            _ = CudaNative.cuStreamDestroy(Handle);
        }
    }
}
