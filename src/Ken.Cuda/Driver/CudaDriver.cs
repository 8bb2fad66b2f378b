using System.Reflection;
using System.Runtime.InteropServices;

namespace Ken.Cuda.Driver;

/// <summary>
/// The process's CUDA driver: loads <c>libcuda.so.1</c> (or another path, for tests) once, binds every
/// <see cref="CudaNative"/> import to it, and initializes it. Failing to find the library or a device
/// raises <see cref="CudaUnavailableException"/> with one line that says what is missing and what to do.
/// </summary>
public static unsafe class CudaDriver
{
    /// <summary>The library the NVIDIA driver installs; found through the loader's search path.</summary>
    public const string DefaultLibraryPath = CudaNative.Library;

    // cuDeviceGetAttribute ids.
    internal const int AttributeMultiprocessorCount = 16;
    internal const int AttributeComputeCapabilityMajor = 75;
    internal const int AttributeComputeCapabilityMinor = 76;

    private const int ErrorNoDevice = 100;

    private static readonly Lock Gate = new();
    private static nint library;
    private static string? libraryPath;

    // The entry points Ken calls; a library missing one is too old (or not the driver).
    private static readonly string[] RequiredExports =
    [
        "cuInit", "cuDriverGetVersion", "cuDeviceGetCount", "cuDeviceGet", "cuDeviceGetName", "cuDeviceGetAttribute",
        "cuDevicePrimaryCtxRetain", "cuDevicePrimaryCtxRelease_v2", "cuCtxSetCurrent", "cuCtxGetCurrent",
        "cuStreamCreate", "cuStreamDestroy_v2", "cuStreamSynchronize", "cuMemAlloc_v2", "cuMemFree_v2",
        "cuMemAllocHost_v2", "cuMemFreeHost", "cuMemGetInfo_v2", "cuMemcpyHtoDAsync_v2", "cuMemcpyDtoHAsync_v2",
        "cuMemcpyDtoDAsync_v2", "cuModuleLoadData", "cuModuleGetFunction", "cuModuleUnload", "cuLaunchKernel",
        "cuGetErrorName", "cuGetErrorString",
    ];

    static CudaDriver()
    {
        NativeLibrary.SetDllImportResolver(typeof(CudaDriver).Assembly, Resolve);
    }

    /// <summary>Where the loaded driver came from, or null before <see cref="Load"/>.</summary>
    public static string? LoadedLibraryPath => Volatile.Read(ref libraryPath);

    /// <summary>
    /// Loads and initializes the driver. Idempotent for the same library; a process binds one driver, so a
    /// different library after the first is refused (<see cref="InvalidOperationException"/>).
    /// </summary>
    /// <exception cref="CudaUnavailableException">The library, an entry point or a device is missing.</exception>
    public static void Load(string path = DefaultLibraryPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        lock (Gate)
        {
            if (!NativeLibrary.TryLoad(path, out var handle))
            {
                throw new CudaUnavailableException(path == DefaultLibraryPath
                    ? "CUDA driver library libcuda.so.1 not found: install the NVIDIA driver or run with --device cpu"
                    : $"CUDA driver library {path} not found: check the path, install the NVIDIA driver, or run with --device cpu");
            }

            if (library == 0)
            {
                foreach (var export in RequiredExports)
                {
                    if (!NativeLibrary.TryGetExport(handle, export, out _))
                    {
                        NativeLibrary.Free(handle);
                        throw new CudaUnavailableException(
                            $"CUDA driver library {path} lacks {export}: update the NVIDIA driver (Ken needs R525 or newer) or run with --device cpu");
                    }
                }

                library = handle;
                Volatile.Write(ref libraryPath, path);
            }
            else if (handle != library)
            {
                NativeLibrary.Free(handle);
                throw new InvalidOperationException($"the CUDA driver is already loaded from {libraryPath}; a process uses one driver library");
            }
            else
            {
                // dlopen counted the same library once more; keep the count at one.
                NativeLibrary.Free(handle);
            }
        }

        var result = CudaNative.cuInit(0);
        if (result == ErrorNoDevice)
        {
            throw new CudaUnavailableException(
                "no CUDA device found (cuInit: CUDA_ERROR_NO_DEVICE): check nvidia-smi and CUDA_VISIBLE_DEVICES, or run with --device cpu");
        }

        if (result != 0)
        {
            throw new CudaUnavailableException(
                $"the CUDA driver failed to initialize (cuInit: {ErrorName(result)}): check nvidia-smi and the driver installation, or run with --device cpu");
        }
    }

    /// <summary>Loads the default driver unless one is loaded already.</summary>
    public static void EnsureLoaded()
    {
        if (Volatile.Read(ref libraryPath) is null)
        {
            Load();
        }
    }

    /// <summary>How many CUDA devices the driver sees.</summary>
    public static int DeviceCount
    {
        get
        {
            EnsureLoaded();
            int count;
            Check(CudaNative.cuDeviceGetCount(&count), "cuDeviceGetCount");
            return count;
        }
    }

    /// <summary>The driver's CUDA version, e.g. 13000 for 13.0.</summary>
    public static int DriverVersion
    {
        get
        {
            EnsureLoaded();
            int version;
            Check(CudaNative.cuDriverGetVersion(&version), "cuDriverGetVersion");
            return version;
        }
    }

    /// <summary>The device's ordinal checked against <see cref="DeviceCount"/>, as a driver device handle.</summary>
    /// <exception cref="CudaUnavailableException">No device with that ordinal.</exception>
    internal static int GetDevice(int ordinal)
    {
        var count = DeviceCount;
        if (count == 0)
        {
            throw new CudaUnavailableException(
                "no CUDA device found (the driver reports 0 devices): check nvidia-smi and CUDA_VISIBLE_DEVICES, or run with --device cpu");
        }

        if (ordinal < 0 || ordinal >= count)
        {
            throw new CudaUnavailableException(
                $"CUDA device {ordinal} not found: the driver reports {count} device(s), numbered 0 to {count - 1}");
        }

        int device;
        Check(CudaNative.cuDeviceGet(&device, ordinal), "cuDeviceGet");
        return device;
    }

    internal static string GetDeviceName(int device)
    {
        var name = stackalloc byte[256];
        Check(CudaNative.cuDeviceGetName(name, 256, device), "cuDeviceGetName");
        return Marshal.PtrToStringUTF8((nint)name) ?? string.Empty;
    }

    internal static int GetAttribute(int device, int attribute)
    {
        int value;
        Check(CudaNative.cuDeviceGetAttribute(&value, attribute, device), "cuDeviceGetAttribute");
        return value;
    }

    /// <summary>Throws <see cref="CudaException"/> naming <paramref name="call"/> when <paramref name="result"/> is not success.</summary>
    internal static void Check(int result, string call)
    {
        if (result != 0)
        {
            throw new CudaException(call, result, ErrorName(result), ErrorText(result));
        }
    }

    /// <summary>The driver's name for a <c>CUresult</c> (<c>CUDA_ERROR_LAUNCH_FAILED</c>), or <c>CUresult N</c>.</summary>
    internal static string ErrorName(int result)
    {
        byte* name = null;
        return CudaNative.cuGetErrorName(result, &name) == 0 && name != null
            ? Marshal.PtrToStringUTF8((nint)name) ?? $"CUresult {result}"
            : $"CUresult {result}";
    }

    private static string ErrorText(int result)
    {
        byte* text = null;
        return CudaNative.cuGetErrorString(result, &text) == 0 && text != null
            ? Marshal.PtrToStringUTF8((nint)text) ?? string.Empty
            : string.Empty;
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != CudaNative.Library)
        {
            return 0;
        }

        // Bind only to the library Load chose; before Load there is nothing to bind to, and the
        // default loader must not pick up a different libcuda behind Load's back.
        var handle = Volatile.Read(ref library);
        if (handle == 0)
        {
            throw new InvalidOperationException("CudaDriver.Load must run before any CUDA call");
        }

        return handle;
    }
}
