using Ken.Pruning.Deltas;
using Ken.Server.Patching;

namespace Ken.Server.Tests.Patching;

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

    [Fact]
    public void A_mask_with_bits_past_the_end_is_rejected()
    {
        var mask = new byte[] { 0xFF };
        Assert.Throws<ArgumentException>(() => MaskedCopy.CopySelected(mask, new float[5], new float[5]));
        Assert.Throws<ArgumentException>(() => MaskedCopy.Scatter(mask, new float[8], new float[5]));
    }
}
