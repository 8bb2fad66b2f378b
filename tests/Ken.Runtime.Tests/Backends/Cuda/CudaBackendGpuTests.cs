using Ken.Cuda.Driver;
using Ken.Runtime.Backbone;
using Ken.Runtime.Backends.Cuda;
using Ken.Runtime.Tests.Backbone;

namespace Ken.Runtime.Tests.Backends.Cuda;

/// <summary>
/// The CUDA backend on a real GPU against the CPU patch backend: the same texts, the base and two tasks
/// swapped in and out, outputs equal within 1e-3 (TF32 off). Skips, with the reason, where no GPU, driver
/// or ONNX Runtime CUDA provider is usable.
/// </summary>
[Collection(CudaDriverGroup.Name)]
public sealed class CudaBackendGpuTests : IClassFixture<BackboneFixture>
{
    private const float Tolerance = 1e-3f;
    private readonly BackboneFixture _fixture;

    public CudaBackendGpuTests(BackboneFixture fixture) => _fixture = fixture;

    [Fact]
    public void Served_outputs_equal_the_cpu_backend_within_1e3_through_swaps()
    {
        using var gpu = LoadOrSkip();
        var cpu = _fixture.Backend;
        var texts = BackboneFixture.Texts;
        var half = (cpu.Bind(_fixture.HalfDelta), gpu.Bind(_fixture.HalfDelta));
        var random = (cpu.Bind(_fixture.RandomDelta), gpu.Bind(_fixture.RandomDelta));

        AssertClose(cpu.RunRaw(0, texts).Hidden, gpu.RunRaw(0, texts).Hidden, "base");
        foreach (var (name, c, g) in new[] { ("half", half.Item1, half.Item2), ("random", random.Item1, random.Item2), ("half again", half.Item1, half.Item2) })
        {
            cpu.Swap(0, c);
            gpu.Swap(0, g);
            AssertClose(cpu.RunRaw(0, texts).Hidden, gpu.RunRaw(0, texts).Hidden, name);
        }

        gpu.Swap(0, null);
        cpu.Swap(0, null);
        AssertClose(cpu.RunRaw(0, texts).Hidden, gpu.RunRaw(0, texts).Hidden, "base after swaps");
        Assert.True(gpu.DeviceDeltaCount >= 2);
    }

    [Fact]
    public void A_slot_holds_exactly_the_patched_weights_after_a_switch()
    {
        using var gpu = LoadOrSkip();
        var task = gpu.Bind(_fixture.HalfDelta);
        gpu.Swap(1, task);
        var cpu = _fixture.Backend;
        var cpuTask = cpu.Bind(_fixture.HalfDelta);
        cpu.Swap(1, cpuTask);
        try
        {
            foreach (var patch in cpuTask.Patches.Patches)
            {
                Assert.Equal(cpu.SlotWeights(1).Tensor(patch.TensorIndex).ToArray(), gpu.CopySlotTensor(1, patch.TensorIndex));
            }
        }
        finally
        {
            cpu.Swap(1, null);
        }
    }

    private CudaBackend LoadOrSkip()
    {
        if (!CudaDriverGroup.HasRealDriver)
        {
            Assert.Skip("no GPU: libcuda.so.1 (the NVIDIA driver) is not on this machine");
        }

        try
        {
            var model = _fixture.MiniLm;
            return CudaBackend.Load(
                new BackboneOptions { ModelPath = model.ModelPath, VocabPath = model.VocabPath, Name = "minilm", Slots = 2, MaxBatchSize = 4 },
                new CudaOptions());
        }
        catch (CudaUnavailableException ex)
        {
            Assert.Skip($"no usable GPU: {ex.Message}");
            throw;
        }
    }

    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = 0f;
        for (var i = 0; i < expected.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        }

        Assert.True(worst <= Tolerance, $"{what}: largest difference {worst} exceeds {Tolerance}");
    }
}
