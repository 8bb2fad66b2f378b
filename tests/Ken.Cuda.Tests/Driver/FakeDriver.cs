using System.Runtime.InteropServices;
using Ken.Cuda.Driver;
using Ken.Cuda.Tests.Support;

namespace Ken.Cuda.Tests.Driver;

/// <summary>
/// The fake libcuda.so.1 (Native/fake_cuda.c), built once and bound as the process's CUDA driver through
/// the real <see cref="CudaDriver.Load"/>; its test controls are reached through the same library handle.
/// </summary>
public static unsafe class FakeDriver
{
    public const int DeviceMemory = 1;
    public const int PinnedMemory = 2;

    private static readonly Lazy<nint> Handle = new(() =>
    {
        var path = NativeBuild.FakeDriverLibrary;
        CudaDriver.Load(path);
        return NativeLibrary.Load(path);
    });

    public static string Path => NativeBuild.FakeDriverLibrary;

    /// <summary>Loads the fake (skipping the test without a compiler) and clears its log, sticky error and injected failure.</summary>
    public static void Reset()
    {
        _ = Handle.Value;
        Call("fake_cuda_reset");
        CudaDriver.Load(Path);
    }

    public static string Log => Marshal.PtrToStringUTF8(((delegate* unmanaged<nint>)Export("fake_cuda_log"))()) ?? string.Empty;

    public static string LastError => Marshal.PtrToStringUTF8(((delegate* unmanaged<nint>)Export("fake_cuda_last_error"))()) ?? string.Empty;

    /// <summary>The calls in the log (failure detail lines dropped), each as its first word.</summary>
    public static string[] Calls => Log.Split('\n', StringSplitOptions.RemoveEmptyEntries)
        .Where(line => !line.StartsWith(' '))
        .Select(line => line.Split(' ')[0])
        .ToArray();

    public static string[] LogLines => Log.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public static void ClearLog()
    {
        // Reset keeps allocations, streams and retains; it only clears the log and error state.
        Call("fake_cuda_reset");
    }

    public static void SetDeviceCount(int count) => ((delegate* unmanaged<int, void>)Export("fake_cuda_set_device_count"))(count);

    public static void FailNext(string call, int result)
    {
        var name = System.Text.Encoding.UTF8.GetBytes(call + "\0");
        fixed (byte* text = name)
        {
            ((delegate* unmanaged<byte*, int, void>)Export("fake_cuda_fail_next"))(text, result);
        }
    }

    public static int LiveAllocations(int kind) => ((delegate* unmanaged<int, int>)Export("fake_cuda_live_allocations"))(kind);

    public static int PendingOperations => ((delegate* unmanaged<int>)Export("fake_cuda_pending_ops"))();

    public static int Retains => ((delegate* unmanaged<int>)Export("fake_cuda_retains"))();

    private static void Call(string name) => ((delegate* unmanaged<void>)Export(name))();

    private static nint Export(string name) => NativeLibrary.GetExport(Handle.Value, name);
}
