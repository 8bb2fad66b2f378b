namespace Ken.Cuda.Driver;

/// <summary>
/// A device's primary context, retained for as long as this object lives. ONNX Runtime's CUDA provider
/// works in the primary context too, so device pointers and streams made here are valid in its sessions.
/// The driver tracks the current context per thread: every Ken.Cuda operation calls
/// <see cref="MakeCurrent"/> first, so callers may come from any thread.
/// </summary>
public sealed unsafe class PrimaryContext : IDisposable
{
    private bool disposed;

    private PrimaryContext(int ordinal, int device, nint handle, string deviceName, int computeCapability, int multiprocessors)
    {
        Ordinal = ordinal;
        Device = device;
        Handle = handle;
        DeviceName = deviceName;
        ComputeCapability = computeCapability;
        MultiprocessorCount = multiprocessors;
    }

    /// <summary>Oldest compute capability the shipped PTX (sm_80) runs on, as major * 10 + minor.</summary>
    public const int MinimumComputeCapability = 80;

    public int Ordinal { get; }

    /// <summary>The driver's <c>CUdevice</c>.</summary>
    public int Device { get; }

    /// <summary>The <c>CUcontext</c> handle.</summary>
    public nint Handle { get; }

    public string DeviceName { get; }

    /// <summary>Major * 10 + minor, e.g. 90 for an H100 or H200.</summary>
    public int ComputeCapability { get; }

    public int MultiprocessorCount { get; }

    /// <summary>Retains the primary context of device <paramref name="ordinal"/> (loading the default driver if needed).</summary>
    /// <exception cref="CudaUnavailableException">No driver, no such device, or a device too old for the kernel.</exception>
    public static PrimaryContext Retain(int ordinal = 0)
    {
        CudaDriver.EnsureLoaded();
        var device = CudaDriver.GetDevice(ordinal);
        var name = CudaDriver.GetDeviceName(device);
        var capability = (CudaDriver.GetAttribute(device, CudaDriver.AttributeComputeCapabilityMajor) * 10)
            + CudaDriver.GetAttribute(device, CudaDriver.AttributeComputeCapabilityMinor);
        if (capability < MinimumComputeCapability)
        {
            throw new CudaUnavailableException(
                $"CUDA device {ordinal} ({name}) has compute capability {capability / 10}.{capability % 10}; Ken's patch kernel needs 8.0 or newer, or run with --device cpu");
        }

        var multiprocessors = CudaDriver.GetAttribute(device, CudaDriver.AttributeMultiprocessorCount);
        nint handle;
        CudaDriver.Check(CudaNative.cuDevicePrimaryCtxRetain(&handle, device), "cuDevicePrimaryCtxRetain");
        var context = new PrimaryContext(ordinal, device, handle, name, capability, multiprocessors);
        try
        {
            context.MakeCurrent();
        }
        catch
        {
            context.Dispose();
            throw;
        }

        return context;
    }

    /// <summary>Makes this context current on the calling thread (a no-op when it already is).</summary>
    public void MakeCurrent()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        nint current;
        CudaDriver.Check(CudaNative.cuCtxGetCurrent(&current), "cuCtxGetCurrent");
        if (current != Handle)
        {
            CudaDriver.Check(CudaNative.cuCtxSetCurrent(Handle), "cuCtxSetCurrent");
        }
    }

    /// <summary>Free and total device memory in bytes.</summary>
    public (long Free, long Total) GetMemoryInfo()
    {
        MakeCurrent();
        nuint free;
        nuint total;
        CudaDriver.Check(CudaNative.cuMemGetInfo(&free, &total), "cuMemGetInfo_v2");
        return ((long)free, (long)total);
    }

    /// <summary>Releases the retain; the context itself lives on while others (ONNX Runtime) hold it.</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        // A failed release leaves one retain behind, which the driver drops at process exit.
        _ = CudaNative.cuDevicePrimaryCtxRelease(Device);
    }
}
