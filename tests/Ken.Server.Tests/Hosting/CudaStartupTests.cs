using System.Runtime.InteropServices;
using Ken.Cuda.Tests.Support;
using Ken.TestSupport;

namespace Ken.Server.Tests.Hosting;

/// <summary>
/// <c>--device cuda</c> on a machine that cannot run it: the real server process exits with code 2 and one
/// line on stderr that names what is missing and what to do, with no stack trace.
/// </summary>
public sealed class CudaStartupTests
{
    [Fact]
    public void Without_the_nvidia_driver_the_line_names_libcuda()
    {
        if (NativeLibrary.TryLoad("libcuda.so.1", out _))
        {
            Assert.Skip("this machine has an NVIDIA driver (libcuda.so.1), so the no-driver start-up failure cannot be shown here");
        }

        using var data = new TempDirectory();
        var (code, stdout, stderr) = ServerExit.Run(["--data-dir", data.Path, "--device", "cuda"], libraryPath: string.Empty);

        var line = AssertOneLineExit(code, stdout, stderr);
        Assert.StartsWith("ken-server: --device cuda:0: CUDA driver library libcuda.so.1 not found", line);
        Assert.Contains("install the NVIDIA driver or run with --device cpu", line);
    }

    [Fact]
    public void With_a_driver_but_without_cuda_libraries_the_line_names_the_provider_and_the_missing_library()
    {
        if (NativeLibrary.TryLoad("libcublasLt.so.13", out _))
        {
            Assert.Skip("this machine has the CUDA 13 libraries, so ONNX Runtime's CUDA provider would load and meet the fake driver");
        }

        var fakeDriverFolder = Path.GetDirectoryName(NativeBuild.FakeDriverLibrary)!;
        using var data = new TempDirectory();
        var (code, stdout, stderr) = ServerExit.Run(["--data-dir", data.Path, "--device", "cuda:0"], libraryPath: fakeDriverFolder);

        var line = AssertOneLineExit(code, stdout, stderr);
        Assert.StartsWith("ken-server: --device cuda:0: ONNX Runtime's CUDA provider (libonnxruntime_providers_cuda.so) cannot load:", line);
        Assert.Matches(@"lib[a-zA-Z]+\.so\.[0-9]+ is missing", line);
        Assert.Contains("LD_LIBRARY_PATH", line);
        Assert.Contains("--device cpu", line);
    }

    [Fact]
    public void A_device_that_does_not_parse_stops_start_up_with_the_choices()
    {
        using var data = new TempDirectory();
        var (code, stdout, stderr) = ServerExit.Run(["--data-dir", data.Path, "--device", "gpu"], libraryPath: string.Empty);

        var line = AssertOneLineExit(code, stdout, stderr);
        Assert.Equal("ken-server: --device is \"gpu\"; choose cpu (default), cuda (device 0) or cuda:N for CUDA device N.", line);
    }

    private static string AssertOneLineExit(int code, string stdout, string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(code == 2, $"exit code {code}, expected 2\nstdout:\n{stdout}\nstderr:\n{stderr}");
        Assert.True(lines.Length == 1, $"stderr has {lines.Length} lines, expected one:\n{stderr}");
        Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", stdout + stderr, StringComparison.Ordinal);
        return lines[0];
    }
}
