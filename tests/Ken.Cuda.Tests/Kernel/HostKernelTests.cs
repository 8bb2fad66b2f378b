using Ken.Cuda.Patching;
using Ken.Cuda.Tests.Support;

namespace Ken.Cuda.Tests.Kernel;

/// <summary>
/// The kernel source compiled for the host (lock-step warps) against the C# reference of the switch rule,
/// bit for bit, with guard zones around every buffer.
/// </summary>
public sealed class HostKernelTests
{
    // Lengths around word (32), byte (8) and chunk (1024) boundaries, plus a few multi-chunk tensors.
    private static readonly int[] Lengths = [1, 7, 8, 9, 31, 32, 33, 63, 100, 1000, 1023, 1024, 1025, 2049, 4099, 33_000];

    public static TheoryData<MaskDensity?, MaskDensity?, PatchValueType> Switches()
    {
        var data = new TheoryData<MaskDensity?, MaskDensity?, PatchValueType>();
        var densities = Enum.GetValues<MaskDensity>();
        foreach (var type in Enum.GetValues<PatchValueType>())
        {
            foreach (var density in densities)
            {
                data.Add(null, density, type);    // base -> B
                data.Add(density, null, type);    // A -> base
                data.Add(density, density, type); // overlapping masks of the same density
            }

            data.Add(MaskDensity.Full, MaskDensity.Sparse, type);
            data.Add(MaskDensity.Sparse, MaskDensity.Full, type);
            data.Add(MaskDensity.OneBit, MaskDensity.Half, type);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Switches))]
    public void Switch_matches_the_reference(MaskDensity? densityA, MaskDensity? densityB, PatchValueType type)
    {
        var random = new Random(HashCode.Combine(densityA, densityB, type) & 0x7fffffff);
        var pristine = RandomPristine(random, Lengths);
        var a = densityA is { } da ? TaskData.Random(random, Lengths, da, PatchValueType.F32) : null;
        var b = densityB is { } db ? TaskData.Random(random, Lengths, db, type) : null;

        CheckSwitch(pristine, a, b);
    }

    [Theory]
    [InlineData(MaskDensity.Sparse)]
    [InlineData(MaskDensity.Half)]
    [InlineData(MaskDensity.Full)]
    public void Switch_between_disjoint_masks_restores_all_of_A_and_writes_all_of_B(MaskDensity density)
    {
        var random = new Random(17 + (int)density);
        var pristine = RandomPristine(random, Lengths);
        var a = TaskData.Random(random, Lengths, MaskDensity.Half, PatchValueType.F32);
        var b = TaskData.Random(random, Lengths, density, PatchValueType.BF16, avoid: a);

        CheckSwitch(pristine, a, b);
    }

    [Fact]
    public void Tensors_patched_by_only_one_task_or_by_neither_are_handled()
    {
        var random = new Random(5);
        var pristine = RandomPristine(random, Lengths);
        var a = TaskData.Random(random, Lengths, MaskDensity.Half, PatchValueType.F16, patched: t => t % 3 != 0);
        var b = TaskData.Random(random, Lengths, MaskDensity.Sparse, PatchValueType.F32, patched: t => t % 3 != 1);

        CheckSwitch(pristine, a, b);
    }

    [Theory]
    [InlineData(1u, 256u)]    // one block strides over every chunk
    [InlineData(3u, 64u)]     // small blocks, still strided
    [InlineData(500u, 256u)]  // more warps than chunks
    public void Any_grid_covers_every_chunk(uint grid, uint block)
    {
        var random = new Random(9);
        var pristine = RandomPristine(random, Lengths);
        var a = TaskData.Random(random, Lengths, MaskDensity.Sparse, PatchValueType.F32);
        var b = TaskData.Random(random, Lengths, MaskDensity.Half, PatchValueType.F32);

        CheckSwitch(pristine, a, b, grid, block);
    }

    [Fact]
    public void Every_half_precision_bit_pattern_converts_like_dotnet()
    {
        const int n = 65536;
        int[] lengths = [n];
        var mask = Enumerable.Repeat((byte)0xFF, n / 8).ToArray();
        var raw = new byte[n * 2];
        for (var bits = 0; bits < n; bits++)
        {
            raw[2 * bits] = (byte)bits;
            raw[(2 * bits) + 1] = (byte)(bits >> 8);
        }

        foreach (var type in new[] { PatchValueType.F16, PatchValueType.BF16 })
        {
            var task = TaskFromRaw(mask, raw, type);
            var weights = KernelSwitch.Run(lengths, [new float[n]], null, task)[0];
            for (var bits = 0; bits < n; bits++)
            {
                var expected = TaskData.Decode(type, raw.AsSpan(2 * bits, 2));
                if (float.IsNaN(expected))
                {
                    Assert.True(float.IsNaN(weights[bits]), $"{type} 0x{bits:x4} should decode to NaN, got {weights[bits]}");
                }
                else
                {
                    Assert.True(
                        BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(weights[bits]),
                        $"{type} 0x{bits:x4}: expected {expected}, got {weights[bits]}");
                }
            }
        }
    }

    private static void CheckSwitch(float[][] pristine, TaskData? a, TaskData? b, uint? grid = null, uint block = 256)
    {
        var actual = KernelSwitch.Run(Lengths, pristine, a, b, grid, block);
        for (var t = 0; t < Lengths.Length; t++)
        {
            var expected = KernelSwitch.InitialWeights(pristine[t], a?.Masks[t]);
            PatchReference.Switch(expected, pristine[t], a?.Masks[t], b?.Masks[t], b?.Decoded[t]);
            PatchReference.AssertSame(expected, actual[t], $"tensor {t} ({Lengths[t]} elements)");
        }
    }

    private static float[][] RandomPristine(Random random, int[] lengths) =>
        lengths.Select(n => Enumerable.Range(0, n).Select(_ => (float)random.NextDouble() - 0.5f).ToArray()).ToArray();

    private static TaskData TaskFromRaw(byte[] mask, byte[] raw, PatchValueType type)
    {
        // A one-tensor task whose values are exactly raw; built through Random with Full density for the
        // shape, then its values replaced.
        var task = TaskData.Random(new Random(1), [mask.Length * 8], MaskDensity.Full, type);
        raw.CopyTo(task.Values[0]!, 0);
        return task;
    }
}
