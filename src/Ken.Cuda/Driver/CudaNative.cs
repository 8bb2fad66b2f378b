using System.Runtime.InteropServices;

namespace Ken.Cuda.Driver;

/// <summary>
/// The CUDA driver API entry points Ken uses. Every call returns a <c>CUresult</c> (0 = success);
/// <see cref="CudaDriver"/> resolves <see cref="Library"/> to the loaded driver, so tests can point it at a fake.
/// Handles (contexts, streams, modules, functions) are opaque pointers; device pointers are 64-bit integers.
/// </summary>
internal static unsafe partial class CudaNative
{
    public const string Library = "libcuda.so.1";

    [LibraryImport(Library)]
    public static partial int cuInit(uint flags);

    [LibraryImport(Library)]
    public static partial int cuDriverGetVersion(int* version);

    [LibraryImport(Library)]
    public static partial int cuDeviceGetCount(int* count);

    [LibraryImport(Library)]
    public static partial int cuDeviceGet(int* device, int ordinal);

    [LibraryImport(Library)]
    public static partial int cuDeviceGetName(byte* name, int length, int device);

    [LibraryImport(Library)]
    public static partial int cuDeviceGetAttribute(int* value, int attribute, int device);

    [LibraryImport(Library)]
    public static partial int cuDevicePrimaryCtxRetain(nint* context, int device);

    [LibraryImport(Library, EntryPoint = "cuDevicePrimaryCtxRelease_v2")]
    public static partial int cuDevicePrimaryCtxRelease(int device);

    [LibraryImport(Library)]
    public static partial int cuCtxSetCurrent(nint context);

    [LibraryImport(Library)]
    public static partial int cuCtxGetCurrent(nint* context);

    [LibraryImport(Library)]
    public static partial int cuStreamCreate(nint* stream, uint flags);

    [LibraryImport(Library, EntryPoint = "cuStreamDestroy_v2")]
    public static partial int cuStreamDestroy(nint stream);

    [LibraryImport(Library)]
    public static partial int cuStreamSynchronize(nint stream);

    [LibraryImport(Library, EntryPoint = "cuMemAlloc_v2")]
    public static partial int cuMemAlloc(ulong* pointer, nuint bytes);

    [LibraryImport(Library, EntryPoint = "cuMemFree_v2")]
    public static partial int cuMemFree(ulong pointer);

    [LibraryImport(Library, EntryPoint = "cuMemAllocHost_v2")]
    public static partial int cuMemAllocHost(void** pointer, nuint bytes);

    [LibraryImport(Library)]
    public static partial int cuMemFreeHost(void* pointer);

    [LibraryImport(Library, EntryPoint = "cuMemGetInfo_v2")]
    public static partial int cuMemGetInfo(nuint* free, nuint* total);

    [LibraryImport(Library, EntryPoint = "cuMemcpyHtoDAsync_v2")]
    public static partial int cuMemcpyHtoDAsync(ulong destination, void* source, nuint bytes, nint stream);

    [LibraryImport(Library, EntryPoint = "cuMemcpyDtoHAsync_v2")]
    public static partial int cuMemcpyDtoHAsync(void* destination, ulong source, nuint bytes, nint stream);

    [LibraryImport(Library, EntryPoint = "cuMemcpyDtoDAsync_v2")]
    public static partial int cuMemcpyDtoDAsync(ulong destination, ulong source, nuint bytes, nint stream);

    [LibraryImport(Library)]
    public static partial int cuModuleLoadData(nint* module, void* image);

    [LibraryImport(Library)]
    public static partial int cuModuleGetFunction(nint* function, nint module, byte* name);

    [LibraryImport(Library)]
    public static partial int cuModuleUnload(nint module);

    [LibraryImport(Library)]
    public static partial int cuLaunchKernel(
        nint function,
        uint gridX,
        uint gridY,
        uint gridZ,
        uint blockX,
        uint blockY,
        uint blockZ,
        uint sharedBytes,
        nint stream,
        void** parameters,
        void** extra);

    [LibraryImport(Library)]
    public static partial int cuGetErrorName(int result, byte** name);

    [LibraryImport(Library)]
    public static partial int cuGetErrorString(int result, byte** text);
}
