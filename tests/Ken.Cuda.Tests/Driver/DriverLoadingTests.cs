using System.Runtime.InteropServices;
using Ken.Cuda.Driver;
using Ken.Cuda.Memory;

namespace Ken.Cuda.Tests.Driver;

[Collection(FakeDriverTests.Name)]
public sealed class DriverLoadingTests
{
    [Fact]
    public void A_missing_default_driver_library_gives_the_one_line_message()
    {
        if (NativeLibrary.TryLoad(CudaDriver.DefaultLibraryPath, out var real))
        {
            NativeLibrary.Free(real);
            Assert.Skip("a CUDA driver (libcuda.so.1) is installed here, so it cannot be missing");
        }

        var error = Assert.Throws<CudaUnavailableException>(() => CudaDriver.Load());

        Assert.Equal("CUDA driver library libcuda.so.1 not found: install the NVIDIA driver or run with --device cpu", error.Message);
    }

    [Fact]
    public void A_missing_driver_at_a_path_names_the_path()
    {
        var error = Assert.Throws<CudaUnavailableException>(() => CudaDriver.Load("/nonexistent/ken/libcuda.so.1"));

        Assert.StartsWith("CUDA driver library /nonexistent/ken/libcuda.so.1 not found:", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void No_device_gives_the_one_line_message_and_recovers_when_one_appears()
    {
        FakeDriver.Reset();
        FakeDriver.SetDeviceCount(0);
        try
        {
            var error = Assert.Throws<CudaUnavailableException>(() => CudaDriver.Load(FakeDriver.Path));
            Assert.StartsWith("no CUDA device found (cuInit: CUDA_ERROR_NO_DEVICE)", error.Message, StringComparison.Ordinal);
            Assert.EndsWith("or run with --device cpu", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            FakeDriver.SetDeviceCount(1);
        }

        CudaDriver.Load(FakeDriver.Path);
        Assert.Equal(1, CudaDriver.DeviceCount);
    }

    [Fact]
    public void A_device_ordinal_past_the_last_device_is_named()
    {
        FakeDriver.Reset();

        var error = Assert.Throws<CudaUnavailableException>(() => PrimaryContext.Retain(1));

        Assert.Equal("CUDA device 1 not found: the driver reports 1 device(s), numbered 0 to 0", error.Message);
    }

    [Fact]
    public void A_second_driver_library_is_refused_once_one_is_bound()
    {
        FakeDriver.Reset();
        using var folder = new Support.TempFolder("ken-cuda-copy-");
        var copy = Path.Combine(folder.Path, "libcuda.so.1");
        File.Copy(FakeDriver.Path, copy);

        var error = Assert.Throws<InvalidOperationException>(() => CudaDriver.Load(copy));

        Assert.Contains(FakeDriver.Path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_primary_context_is_retained_made_current_and_released()
    {
        FakeDriver.Reset();
        var before = FakeDriver.Retains;
        Exception? failure = null;

        // A fresh thread has no current context, so Retain must set it.
        var thread = new Thread(() =>
        {
            try
            {
                using (var context = PrimaryContext.Retain(0))
                {
                    Assert.Equal(before + 1, FakeDriver.Retains);
                    Assert.Equal("Ken Fake GPU 0", context.DeviceName);
                    Assert.Equal(90, context.ComputeCapability);
                    Assert.Contains("cuCtxSetCurrent", FakeDriver.Calls);
                }

                Assert.Equal(before, FakeDriver.Retains);
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();

        Assert.Null(failure);
    }

    [Fact]
    public void A_failed_call_throws_with_the_driver_result_name()
    {
        FakeDriver.Reset();
        using var context = PrimaryContext.Retain(0);
        FakeDriver.FailNext("cuMemAlloc_v2", 2);

        var error = Assert.Throws<CudaException>(() => DeviceBuffer.Allocate(context, 1024));

        Assert.Equal("CUDA_ERROR_OUT_OF_MEMORY", error.ResultName);
        Assert.Equal("cuMemAlloc_v2", error.Call);
        Assert.Equal(2, error.Result);
        Assert.Equal("cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (out of memory)", error.Message);
    }

    [Fact]
    public unsafe void The_fake_refuses_calls_without_the_primary_context_current()
    {
        // The guard that makes the patcher tests meaningful: a wrapper that forgot MakeCurrent would fail.
        FakeDriver.Reset();
        using var context = PrimaryContext.Retain(0);
        var result = -1;
        var thread = new Thread(() =>
        {
            ulong address;
            result = CudaNative.cuMemAlloc(&address, 64);
        });
        thread.Start();
        thread.Join();

        Assert.Equal(201, result); // CUDA_ERROR_INVALID_CONTEXT
    }

    [Fact]
    public void A_wrapped_stream_is_not_destroyed_by_its_wrapper()
    {
        FakeDriver.Reset();
        using var context = PrimaryContext.Retain(0);
        using var owned = CudaStream.Create(context);

        using (var wrapped = CudaStream.Wrap(context, owned.Handle))
        {
            wrapped.Synchronize();
        }

        Assert.DoesNotContain("cuStreamDestroy_v2", FakeDriver.Calls);
        owned.Synchronize();
    }

    [Fact]
    public void The_embedded_ptx_loads_and_names_the_kernel()
    {
        FakeDriver.Reset();
        using var context = PrimaryContext.Retain(0);
        using var module = Patching.PatchModule.Load(context);

        Assert.Contains(".entry ken_patch(", Patching.PatchModule.Ptx, StringComparison.Ordinal);
        Assert.Contains("cuModuleGetFunction", FakeDriver.Calls);
    }
}
