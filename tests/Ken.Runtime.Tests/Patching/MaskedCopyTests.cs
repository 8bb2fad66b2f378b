using Ken.Format.Deltas;
using Ken.Runtime.Patching;

namespace Ken.Runtime.Tests.Patching;

public sealed class MaskedCopyTests
{
    [Theory]
    [InlineData(1, 0.5)]
    [InlineData(7, 0.5)]
    [InlineData(64, 1.0)]
    [InlineData(1000, 0.0)]
    [InlineData(1003, 0.1)]
    [InlineData(4099, 0.5)]
    [InlineData(4099, 0.97)]
    public void Copy_and_scatter_touch_exactly_the_masked_positions(int count, double density)
    {
        var random = new Random(count);
        var mask = new byte[(count + 7) / 8];
        for (var i = 0; i < count; i++)
        {
            if (random.NextDouble() < density)
            {
                MaskBits.Set(mask, i);
            }
        }

        var source = Enumerable.Range(0, count).Select(i => (float)i).ToArray();
        var destination = Enumerable.Range(0, count).Select(i => -1f - i).ToArray();
        var expected = (float[])destination.Clone();
        for (var i = 0; i < count; i++)
        {
            if (MaskBits.IsSet(mask, i))
            {
                expected[i] = source[i];
            }
        }

        var copied = MaskedCopy.CopySelected(mask, source, destination);
        Assert.Equal(expected, destination);
        Assert.Equal(MaskBits.PopCount(mask), copied);

        var values = new float[copied];
        MaskBits.Gather(mask, source, values);
        var scattered = new float[count];
        var reference = new float[count];
        MaskBits.Scatter(mask, values, reference);
        Assert.Equal(copied, MaskedCopy.Scatter(mask, values, scattered));
        Assert.Equal(reference, scattered);
    }

    [Theory]
    [InlineData(5, 0.5, 0.5)]
    [InlineData(1003, 0.5, 0.5)]
    [InlineData(4099, 0.1, 0.9)]
    [InlineData(4099, 0.97, 0.02)]
    [InlineData(4096, 0.0, 0.5)]
    [InlineData(4096, 0.5, 0.0)]
    public void Replace_equals_restore_then_apply(int count, double oldDensity, double newDensity)
    {
        var random = new Random(count + (int)(oldDensity * 100));
        var oldMask = RandomMask(random, count, oldDensity);
        var newMask = RandomMask(random, count, newDensity);
        var pristine = Enumerable.Range(0, count).Select(i => (float)i).ToArray();
        var oldValues = new float[MaskBits.PopCount(oldMask)];
        var newValues = new float[MaskBits.PopCount(newMask)];
        for (var i = 0; i < oldValues.Length; i++)
        {
            oldValues[i] = -1000f - i;
        }

        for (var i = 0; i < newValues.Length; i++)
        {
            newValues[i] = 1000f + i;
        }

        // A slot holding the old task: pristine everywhere, old values at the old mask.
        var slot = (float[])pristine.Clone();
        MaskBits.Scatter(oldMask, oldValues, slot);
        var expected = (float[])slot.Clone();
        MaskedCopy.CopySelected(oldMask, pristine, expected);
        MaskBits.Scatter(newMask, newValues, expected);

        long restored = MaskedCopy.Replace(oldMask, newMask, newValues, pristine, slot);

        Assert.Equal(expected, slot);
        long oldOnly = 0;
        for (var i = 0; i < count; i++)
        {
            oldOnly += MaskBits.IsSet(oldMask, i) && !MaskBits.IsSet(newMask, i) ? 1 : 0;
        }

        Assert.Equal(oldOnly, restored);
    }

    [Theory]
    [InlineData(0.05, 0.05)]
    [InlineData(0.25, 0.1)]
    [InlineData(0.0, 0.3)]
    public void Replace_of_block_masks_writes_only_the_blocks_either_task_holds(double oldDensity, double newDensity)
    {
        // 16-element blocks (one 64-byte line of float32), as `ken prune --block 16` writes them.
        const int count = 384 * 40;
        var random = new Random(7);
        var oldMask = TestMasks.Blocks(random, count, oldDensity);
        var newMask = TestMasks.Blocks(random, count, newDensity);
        var pristine = Enumerable.Range(0, count).Select(i => (float)i).ToArray();
        var oldValues = Enumerable.Range(0, (int)MaskBits.PopCount(oldMask)).Select(i => -1f - i).ToArray();
        var newValues = Enumerable.Range(0, (int)MaskBits.PopCount(newMask)).Select(i => 1f + i).ToArray();
        var slot = (float[])pristine.Clone();
        MaskBits.Scatter(oldMask, oldValues, slot);
        var expected = (float[])slot.Clone();
        MaskedCopy.CopySelected(oldMask, pristine, expected);
        MaskBits.Scatter(newMask, newValues, expected);

        // Poison every line neither task holds: a switch that touched such a line would overwrite it.
        for (var i = 0; i < count; i++)
        {
            if (!MaskBits.IsSet(oldMask, i) && !MaskBits.IsSet(newMask, i))
            {
                slot[i] = expected[i] = float.NaN;
            }
        }

        MaskedCopy.Replace(oldMask, newMask, newValues, pristine, slot);

        Assert.Equal(expected, slot);
    }

    private static byte[] RandomMask(Random random, int count, double density)
    {
        var mask = new byte[(count + 7) / 8];
        for (var i = 0; i < count; i++)
        {
            if (random.NextDouble() < density)
            {
                MaskBits.Set(mask, i);
            }
        }

        return mask;
    }

    [Fact]
    public void A_mask_with_bits_past_the_end_is_rejected()
    {
        var mask = new byte[] { 0xFF };
        Assert.Throws<ArgumentException>(() => MaskedCopy.CopySelected(mask, new float[5], new float[5]));
        Assert.Throws<ArgumentException>(() => MaskedCopy.Scatter(mask, new float[8], new float[5]));
    }
}
