using Ken.Format;
using Ken.Server.Hosting;
using Microsoft.Extensions.Configuration;

namespace Ken.Server.Tests.Hosting;

public sealed class DeviceOptionsTests
{
    [Fact]
    public void The_default_is_the_cpu_with_a_4_gib_device_budget_and_tf32_off()
    {
        var options = Load();
        Assert.Equal(ComputeDevice.Cpu, options.Device);
        Assert.False(options.Device.IsCuda);
        Assert.Equal(4L << 30, options.DeviceDeltaBudget);
        Assert.False(options.CudaTf32);
        Assert.False(options.AllowCpuFallback);
    }

    [Theory]
    [InlineData("cuda", 0)]
    [InlineData("CUDA:3", 3)]
    [InlineData(" cuda:0 ", 0)]
    public void Cuda_devices_parse_with_their_ordinal(string text, int ordinal)
    {
        var options = Load("--device", text);
        Assert.True(options.Device.IsCuda);
        Assert.Equal(ordinal, options.Device.Ordinal);
        Assert.Equal($"cuda:{ordinal}", options.Device.ToString());
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:")]
    [InlineData("cuda:-1")]
    [InlineData("cuda:x")]
    public void Other_devices_are_refused_with_the_choices(string text)
    {
        var ex = Assert.Throws<KenException>(() => Load("--device", text));
        Assert.Contains("choose cpu (default), cuda (device 0) or cuda:N", ex.Message);
    }

    [Fact]
    public void Budget_tf32_and_fallback_come_from_flags()
    {
        var options = Load("--device", "cuda:1", "--device-delta-budget", "512MiB", "--cuda-tf32", "on", "--allow-cpu-fallback", "true");
        Assert.Equal(512L << 20, options.DeviceDeltaBudget);
        Assert.True(options.CudaTf32);
        Assert.True(options.AllowCpuFallback);
        var cuda = BackendFactory.CudaOptionsOf(options);
        Assert.Equal(1, cuda.DeviceOrdinal);
        Assert.Equal(512L << 20, cuda.DeltaBudgetBytes);
        Assert.True(cuda.UseTf32);
        Assert.True(cuda.AllowCpuFallback);
    }

    [Fact]
    public void Environment_variables_set_the_device_like_the_flags()
    {
        var environment = new System.Collections.Hashtable { ["KEN_DEVICE"] = "cuda:2", ["KEN_CUDA_TF32"] = "off", ["KEN_DEVICE_DELTA_BUDGET"] = "1GiB" };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(OptionSources.FromEnvironment(environment)).Build();
        var options = KenServerOptions.Load(configuration);
        Assert.Equal(new ComputeDevice(true, 2), options.Device);
        Assert.Equal(1L << 30, options.DeviceDeltaBudget);
        Assert.False(options.CudaTf32);
    }

    [Fact]
    public void A_switch_that_is_not_on_or_off_is_refused()
    {
        var ex = Assert.Throws<KenException>(() => Load("--cuda-tf32", "maybe"));
        Assert.Contains("--cuda-tf32 (KEN_CUDA_TF32) is \"maybe\"; use on or off", ex.Message);
    }

    [Theory]
    [InlineData("reload")]
    [InlineData("resident")]
    public void Cpu_only_swap_modes_are_refused_on_cuda(string mode)
    {
        var ex = Assert.Throws<KenException>(() => Load("--device", "cuda", "--swap-mode", mode));
        Assert.Contains("runs on the CPU only; use --swap-mode patch with --device cuda:0", ex.Message);
    }

    private static KenServerOptions Load(params string[] args)
    {
        var configuration = new ConfigurationBuilder().AddCommandLine(args, OptionSources.SwitchMappings()).Build();
        return KenServerOptions.Load(configuration);
    }
}
