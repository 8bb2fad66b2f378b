using Ken.Runtime.Backends.Cuda;
using Microsoft.ML.OnnxRuntime;

namespace Ken.Runtime.Tests.Backends.Cuda;

public sealed class CudaProviderFailureTests
{
    [Fact]
    public void A_missing_cuda_dependency_is_named_with_what_to_do()
    {
        var ex = new InvalidOperationException(
            "[ErrorCode:Fail] /onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:1862 onnxruntime::Provider& onnxruntime::ProviderLibrary::Get() "
            + "[ONNXRuntimeError] : 1 : FAIL : Failed to load library libonnxruntime_providers_cuda.so with error: libcublasLt.so.13: cannot open shared object file: No such file or directory\n  at stack");
        var line = CudaProviderFailure.Describe(ex);
        Assert.Contains("libonnxruntime_providers_cuda.so", line);
        Assert.Contains("libcublasLt.so.13 is missing", line);
        Assert.Contains("LD_LIBRARY_PATH", line);
        Assert.Contains("--device cpu", line);
        Assert.DoesNotContain('\n', line);
    }

    [Fact]
    public void A_missing_provider_library_says_to_publish_it()
    {
        var line = CudaProviderFailure.Describe(new InvalidOperationException(
            "Failed to load library libonnxruntime_providers_cuda.so with error: libonnxruntime_providers_cuda.so: cannot open shared object file: No such file or directory"));
        Assert.Contains("libonnxruntime_providers_cuda.so was not found", line);
        Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu.Linux", line);
    }

    [Fact]
    public void Nodes_refused_by_the_cuda_provider_point_at_the_fallback_flag()
    {
        var line = CudaProviderFailure.Describe(new InvalidOperationException(
            "This session contains graph nodes that are assigned to the default CPU EP, but fallback to CPU EP has been explicitly disabled by the user."));
        Assert.Contains("--allow-cpu-fallback on", line);
    }

    [Fact]
    public void Anything_else_keeps_only_the_first_line_of_the_message()
    {
        var line = CudaProviderFailure.Describe(new InvalidOperationException("CUDA failure 100: no CUDA-capable device is detected\nsecond line"));
        Assert.Contains("no CUDA-capable device is detected", line);
        Assert.DoesNotContain("second line", line);
    }

    [Fact]
    public void The_provider_shares_kens_stream_and_keeps_tf32_off_by_default()
    {
        var options = CudaSessionSetup.ProviderOptions(new CudaOptions { DeviceOrdinal = 1 }, new nint(140_000_000_123L));
        Assert.Equal("1", options["device_id"]);
        Assert.Equal("1", options["has_user_compute_stream"]);
        Assert.Equal("140000000123", options["user_compute_stream"]);
        Assert.Equal("0", options["use_tf32"]);
        Assert.Equal("1", CudaSessionSetup.ProviderOptions(new CudaOptions { UseTf32 = true }, 1)["use_tf32"]);
    }

    [Fact]
    public void Adding_the_provider_without_its_libraries_fails_with_an_onnx_runtime_error()
    {
        // This machine's ONNX Runtime either finds the CUDA provider and its libraries or says which is missing;
        // in both cases the no-fallback entry is what the session gets.
        using var session = new SessionOptions();
        try
        {
            CudaSessionSetup.Apply(session, new CudaOptions(), 0);
        }
        catch (OnnxRuntimeException ex)
        {
            var line = CudaProviderFailure.Describe(ex);
            Assert.Contains("libonnxruntime_providers_cuda.so", line);
            return;
        }

        Assert.Skip("ONNX Runtime's CUDA provider and its CUDA libraries load on this machine");
    }
}
