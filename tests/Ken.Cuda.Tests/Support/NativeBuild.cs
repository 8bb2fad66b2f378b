using System.Diagnostics;

namespace Ken.Cuda.Tests.Support;

/// <summary>
/// Builds the native test libraries once per test run with the machine's gcc/g++ (into a temp folder that
/// lives as long as the process): the host build of the kernel, and the fake <c>libcuda.so.1</c> (fake
/// driver + the same host kernel). Sources come from the test output folder (Kernels/, Native/).
/// </summary>
public static class NativeBuild
{
    private static readonly Lazy<(string? Path, string? Error)> HostKernelBuild = new(BuildHostKernel);
    private static readonly Lazy<(string? Path, string? Error)> FakeDriverBuild = new(BuildFakeDriver);
    private static readonly Lazy<string> Folder = new(() => Directory.CreateTempSubdirectory("ken-cuda-native-").FullName);

    public static string KernelsFolder => Path.Combine(AppContext.BaseDirectory, "Kernels");

    public static string NativeFolder => Path.Combine(AppContext.BaseDirectory, "Native");

    /// <summary>Path of the host kernel library; skips the test when no C++ compiler is present, fails when the build fails.</summary>
    public static string HostKernelLibrary => Require(HostKernelBuild.Value);

    /// <summary>Path of the fake driver (a file named libcuda.so.1).</summary>
    public static string FakeDriverLibrary => Require(FakeDriverBuild.Value);

    /// <summary>Finds a program on PATH.</summary>
    public static string? FindOnPath(string program)
    {
        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(folder, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Runs a program to completion; returns exit code and combined output.</summary>
    public static (int ExitCode, string Output) Run(string program, IEnumerable<string> arguments, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    private static string Require((string? Path, string? Error) build)
    {
        if (build.Path is null)
        {
            if (build.Error!.StartsWith("skip:", StringComparison.Ordinal))
            {
                Assert.Skip(build.Error["skip:".Length..].Trim());
            }

            Assert.Fail(build.Error);
        }

        return build.Path;
    }

    private static string[] KernelFlags(string language) =>
    [
        "-O2", "-fPIC", "-Wall", "-Wextra", "-Werror", "-Wno-unknown-pragmas", "-U_FORTIFY_SOURCE",
        "-I", KernelsFolder, "-I", NativeFolder, language,
    ];

    private static (string? Path, string? Error) Compile(string output, params string[][] steps)
    {
        foreach (var step in steps)
        {
            var (code, text) = Run(step[0], step[1..], Folder.Value);
            if (code != 0)
            {
                return (null, $"native build failed: {string.Join(' ', step)}\n{text}");
            }
        }

        return (output, null);
    }

    private static (string? Path, string? Error) BuildHostKernel()
    {
        if (FindOnPath("g++") is null)
        {
            return (null, "skip: g++ is not installed (apt-get install g++); the host kernel tests need it");
        }

        var kernel = Path.Combine(Folder.Value, "host-kernel.o");
        var shim = Path.Combine(Folder.Value, "host-shim.o");
        var library = Path.Combine(Folder.Value, "libken_patch_host.so");
        return Compile(
            library,
            ["g++", .. KernelFlags("-std=c++17"), "-include", "host_shim.h", "-x", "c++", Path.Combine(KernelsFolder, "ken_patch.cu"), "-c", "-o", kernel],
            ["g++", .. KernelFlags("-std=c++17"), Path.Combine(NativeFolder, "host_shim.cpp"), "-c", "-o", shim],
            ["g++", "-shared", "-Wl,-Bsymbolic", "-o", library, kernel, shim]);
    }

    private static (string? Path, string? Error) BuildFakeDriver()
    {
        if (FindOnPath("gcc") is null || FindOnPath("g++") is null)
        {
            return (null, "skip: gcc/g++ are not installed (apt-get install g++); the fake driver tests need them");
        }

        var host = HostKernelBuild.Value;
        if (host.Path is null)
        {
            return host;
        }

        var fake = Path.Combine(Folder.Value, "fake-cuda.o");
        var driverFolder = Path.Combine(Folder.Value, "fake-driver");
        Directory.CreateDirectory(driverFolder);
        var library = Path.Combine(driverFolder, "libcuda.so.1");
        return Compile(
            library,
            ["gcc", "-std=c11", "-O1", "-fPIC", "-Wall", "-Wextra", "-Werror", "-I", KernelsFolder, Path.Combine(NativeFolder, "fake_cuda.c"), "-c", "-o", fake],
            ["g++", "-shared", "-Wl,-Bsymbolic", "-o", library, fake, Path.Combine(Folder.Value, "host-kernel.o"), Path.Combine(Folder.Value, "host-shim.o"), "-lpthread"]);
    }
}
