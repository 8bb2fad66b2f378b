using Ken.Cuda.Driver;

namespace Ken.Cuda.Patching;

/// <summary>
/// The patch kernel loaded into a context: the PTX embedded in this assembly (Kernels/ken_patch.ptx,
/// made by Kernels/build-ptx.sh), JIT-compiled by the driver for the device at load.
/// </summary>
public sealed unsafe class PatchModule : IDisposable
{
    public const string KernelName = "ken_patch";

    /// <summary>Threads per block; the kernel declares <c>__launch_bounds__(256)</c>.</summary>
    public const int ThreadsPerBlock = 256;

    /// <summary>Elements one warp patches per step: 32 mask words of 32 bits (KEN_CHUNK_ELEMENTS).</summary>
    public const int ChunkElements = 1024;

    private const string ResourceName = "Ken.Cuda.Kernels.ken_patch.ptx";

    private static readonly Lazy<byte[]> PtxBytes = new(ReadPtx);

    private readonly PrimaryContext context;
    private readonly nint module;
    private readonly nint function;
    private bool disposed;

    private PatchModule(PrimaryContext context, nint module, nint function)
    {
        this.context = context;
        this.module = module;
        this.function = function;
    }

    /// <summary>The embedded PTX text.</summary>
    public static string Ptx => System.Text.Encoding.ASCII.GetString(PtxBytes.Value);

    /// <exception cref="CudaException">The driver could not JIT the PTX (e.g. <c>CUDA_ERROR_INVALID_PTX</c>).</exception>
    public static PatchModule Load(PrimaryContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.MakeCurrent();
        var ptx = PtxBytes.Value;
        // cuModuleLoadData reads PTX as a NUL-terminated string.
        var image = new byte[ptx.Length + 1];
        ptx.CopyTo(image, 0);
        nint module;
        fixed (byte* data = image)
        {
            CudaDriver.Check(CudaNative.cuModuleLoadData(&module, data), "cuModuleLoadData");
        }

        nint function;
        var name = "ken_patch\0"u8;
        fixed (byte* entry = name)
        {
            var result = CudaNative.cuModuleGetFunction(&function, module, entry);
            if (result != 0)
            {
                _ = CudaNative.cuModuleUnload(module);
                CudaDriver.Check(result, "cuModuleGetFunction");
            }
        }

        return new PatchModule(context, module, function);
    }

    /// <summary>
    /// Queues one switch on <paramref name="stream"/>: the kernel's six parameters, in its order. Returns
    /// without waiting; a launch the driver refuses throws <see cref="CudaException"/> and ran nothing.
    /// </summary>
    internal void Launch(CudaStream stream, uint blocks, ulong tensors, uint tensorCount, uint chunkTotal, ulong weights, ulong from, ulong to)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        context.MakeCurrent();
        var parameters = stackalloc void*[6];
        parameters[0] = &tensors;
        parameters[1] = &tensorCount;
        parameters[2] = &chunkTotal;
        parameters[3] = &weights;
        parameters[4] = &from;
        parameters[5] = &to;
        CudaDriver.Check(
            CudaNative.cuLaunchKernel(function, blocks, 1, 1, ThreadsPerBlock, 1, 1, 0, stream.Handle, parameters, null),
            "cuLaunchKernel");
    }

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        context.MakeCurrent();
        _ = CudaNative.cuModuleUnload(module);
    }

    private static byte[] ReadPtx()
    {
        using var stream = typeof(PatchModule).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"the assembly lacks its embedded PTX {ResourceName}");
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }
}
