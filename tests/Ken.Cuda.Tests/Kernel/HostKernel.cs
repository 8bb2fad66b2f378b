using System.Runtime.InteropServices;
using Ken.Cuda.Tests.Support;

namespace Ken.Cuda.Tests.Kernel;

/// <summary>The host build of ken_patch.cu (Native/host_shim.cpp's ken_host_patch_launch), loaded once.</summary>
public static unsafe class HostKernel
{
    private static readonly Lock Gate = new();
    private static nint launch;

    /// <summary>Runs the kernel; fails the test when the emulator reports a broken warp collective.</summary>
    public static void Launch(uint grid, uint block, nint tensors, uint tensorCount, uint chunkTotal, nint weights, nint from, nint to)
    {
        var path = NativeBuild.HostKernelLibrary;
        // The emulator keeps its lanes in globals: one launch at a time.
        lock (Gate)
        {
            if (launch == 0)
            {
                launch = NativeLibrary.GetExport(NativeLibrary.Load(path), "ken_host_patch_launch");
            }

            var error = stackalloc byte[512];
            var function = (delegate* unmanaged<uint, uint, nint, uint, uint, nint, nint, nint, byte*, int, int>)launch;
            if (function(grid, block, tensors, tensorCount, chunkTotal, weights, from, to, error, 512) != 0)
            {
                Assert.Fail("host kernel launch failed: " + Marshal.PtrToStringUTF8((nint)error));
            }
        }
    }
}
