using Ken.Pruning.Selection;

namespace Ken.Pruning.Tests.Selection;

public class RadixSortTests
{
    private static readonly float[] Specials =
    [
        float.NegativeInfinity, float.MinValue, -1f, -float.Epsilon, -0f, 0f, float.Epsilon, 1e-30f, 1f, float.MaxValue, float.PositiveInfinity,
    ];

    [Fact]
    public void Keys_order_like_the_floats_and_both_zeros_share_one_key()
    {
        Assert.Equal(RadixSort.FloatKey(0f), RadixSort.FloatKey(-0f));
        for (int i = 1; i < Specials.Length; i++)
        {
            bool bothZero = Specials[i - 1] == 0 && Specials[i] == 0;
            Assert.True(bothZero || RadixSort.FloatKey(Specials[i - 1]) < RadixSort.FloatKey(Specials[i]), $"{Specials[i - 1]} < {Specials[i]}");
        }
    }

    [Fact]
    public void A_key_converts_back_to_its_float_and_negative_zero_to_positive_zero()
    {
        var rng = new Random(3);
        for (int i = 0; i < 10_000; i++)
        {
            float value = BitConverter.Int32BitsToSingle(rng.Next(int.MinValue, int.MaxValue));
            if (!float.IsFinite(value))
            {
                continue;
            }

            float back = RadixSort.KeyToFloat(RadixSort.FloatKey(value));
            Assert.Equal(BitConverter.SingleToUInt32Bits(value == 0 ? 0f : value), BitConverter.SingleToUInt32Bits(back));
        }

        Assert.Equal(0u, BitConverter.SingleToUInt32Bits(RadixSort.KeyToFloat(RadixSort.FloatKey(-0f))));
    }

    [Fact]
    public void Sorting_a_row_orders_by_value_then_position()
    {
        var rng = new Random(5);
        float[] row = [.. Enumerable.Range(0, 3000).Select(_ => (float)Math.Round(rng.NextDouble() * 40 - 20) / 4)];
        row[7] = -0f;
        var items = new ulong[row.Length];
        RadixSort.SortFloats(row, items, new ulong[row.Length], new int[1024]);
        int[] expected = [.. Enumerable.Range(0, row.Length).OrderBy(i => row[i] + 0f).ThenBy(i => i)];
        Assert.Equal(expected, items.Select(item => (int)(uint)item));
    }
}
