using System.Text.RegularExpressions;
using Ken.Cuda.Patching;
using Ken.Cuda.Tests.Support;

namespace Ken.Cuda.Tests.Ptx;

/// <summary>The shipped PTX: regenerated from the source by the committed script, and accepted by ptxas.</summary>
public sealed partial class PtxTests
{
    private static string ShippedPtxPath => Path.Combine(NativeBuild.KernelsFolder, "ken_patch.ptx");

    [Fact]
    public void The_embedded_ptx_is_the_committed_file()
    {
        Assert.Equal(File.ReadAllText(ShippedPtxPath), PatchModule.Ptx);
    }

    [Fact]
    public void The_ptx_targets_sm_80_with_an_isa_cuda_11_8_accepts()
    {
        var version = VersionLine().Match(PatchModule.Ptx);
        Assert.True(version.Success, "the PTX has no .version line");
        var isa = new Version(version.Groups[1].Value);
        Assert.True(isa <= new Version(7, 8), $"PTX ISA {isa} is newer than 7.8 (CUDA 11.8)");
        Assert.Contains(".target sm_80", PatchModule.Ptx, StringComparison.Ordinal);
    }

    [Fact]
    public void The_committed_ptx_is_what_build_ptx_sh_makes()
    {
        if (NativeBuild.FindOnPath("clang-14") is null)
        {
            Assert.Skip("clang-14 is not installed (apt-get install clang-14); cannot regenerate the PTX to compare");
        }

        using var folder = new TempFolder("ken-ptx-");
        var output = Path.Combine(folder.Path, "ken_patch.ptx");
        var (code, text) = NativeBuild.Run("bash", [Path.Combine(NativeBuild.KernelsFolder, "build-ptx.sh"), output]);

        Assert.True(code == 0, $"build-ptx.sh failed:\n{text}");
        Assert.True(
            File.ReadAllText(ShippedPtxPath) == File.ReadAllText(output),
            "src/Ken.Cuda/Kernels/ken_patch.ptx is stale: run src/Ken.Cuda/Kernels/build-ptx.sh and commit the result");
    }

    [Theory]
    [InlineData("sm_80")]
    [InlineData("sm_90")]
    public void Ptxas_assembles_the_ptx_without_spills(string architecture)
    {
        var ptxas = FindPtxas();
        if (ptxas is null)
        {
            Assert.Skip("ptxas not found (set KEN_PTXAS, or run tools/cuda/install-ptxas.sh)");
        }

        using var folder = new TempFolder("ken-ptxas-");
        var (code, text) = NativeBuild.Run(ptxas, ["-arch=" + architecture, "-O3", "-v", "-warn-spills", "-warn-lmem-usage", ShippedPtxPath, "-o", Path.Combine(folder.Path, "ken_patch.cubin")]);

        Assert.True(code == 0, $"ptxas failed for {architecture}:\n{text}");
        Assert.DoesNotContain("warning", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("error", text, StringComparison.OrdinalIgnoreCase);
        var registers = Registers().Match(text);
        Assert.True(registers.Success, $"ptxas -v reported no register count:\n{text}");
        var count = int.Parse(registers.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        // __launch_bounds__(256) caps it at 255; more than 64 would halve occupancy of a bandwidth-bound kernel.
        Assert.InRange(count, 1, 64);
        Assert.Matches(NoSpills(), text);
        Assert.Matches(NoStack(), text);
        TestContext.Current.SendDiagnosticMessage($"ptxas {architecture}: {count} registers; {NoSpills().Match(text).Value}");
    }

    /// <summary>KEN_PTXAS, then the cache install-ptxas.sh fills, then PATH.</summary>
    public static string? FindPtxas()
    {
        var configured = Environment.GetEnvironmentVariable("KEN_PTXAS");
        if (!string.IsNullOrEmpty(configured) && File.Exists(configured))
        {
            return configured;
        }

        var home = Environment.GetEnvironmentVariable("HOME") ?? "/tmp";
        var cache = Environment.GetEnvironmentVariable("KEN_CUDA_CACHE") ?? Path.Combine(home, ".cache", "ken", "cuda-11.8");
        foreach (var candidate in new[] { Path.Combine(cache, "root", "usr", "lib", "nvidia-cuda-toolkit", "bin", "ptxas"), Path.Combine(cache, "root", "usr", "bin", "ptxas") })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return NativeBuild.FindOnPath("ptxas");
    }

    [GeneratedRegex(@"^\.version\s+(\d+\.\d+)", RegexOptions.Multiline)]
    private static partial Regex VersionLine();

    [GeneratedRegex(@"Used (\d+) registers")]
    private static partial Regex Registers();

    [GeneratedRegex(@"0 bytes spill stores, 0 bytes spill loads")]
    private static partial Regex NoSpills();

    [GeneratedRegex(@"0 bytes stack frame")]
    private static partial Regex NoStack();
}
