using Ken.Format.Checkpoints;

namespace Ken.Format.Tests.Checkpoints;

public class FloatEncodingTests
{
    [Theory]
    [InlineData(1.0f, 0x3F80)]
    [InlineData(-2.0f, 0xC000)]
    [InlineData(float.PositiveInfinity, 0x7F80)]
    [InlineData(float.NegativeInfinity, 0xFF80)]
    public void BFloat16_encodes_exact_values(float value, int expected) =>
        Assert.Equal((ushort)expected, FloatEncoding.SingleToBFloat16(value));

    [Fact]
    public void BFloat16_rounds_to_nearest_even()
    {
        // 0x3F808000 lies exactly between 0x3F80 and 0x3F81: ties go to the even 0x3F80.
        Assert.Equal((ushort)0x3F80, FloatEncoding.SingleToBFloat16(BitConverter.UInt32BitsToSingle(0x3F80_8000)));

        // Between 0x3F81 and 0x3F82: ties go to the even 0x3F82.
        Assert.Equal((ushort)0x3F82, FloatEncoding.SingleToBFloat16(BitConverter.UInt32BitsToSingle(0x3F81_8000)));
        Assert.Equal((ushort)0x3F81, FloatEncoding.SingleToBFloat16(BitConverter.UInt32BitsToSingle(0x3F80_8001)));
    }

    [Fact]
    public void BFloat16_keeps_NaN_a_NaN_even_when_rounding_would_make_it_infinity()
    {
        float nan = BitConverter.UInt32BitsToSingle(0x7F80_FFFF);
        Assert.True(float.IsNaN(FloatEncoding.BFloat16ToSingle(FloatEncoding.SingleToBFloat16(nan))));
    }

    [Fact]
    public void Vectorized_and_scalar_paths_agree()
    {
        var random = new Random(7);
        var values = new float[1000];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = BitConverter.UInt32BitsToSingle((uint)random.NextInt64(0, uint.MaxValue));
        }

        values[3] = float.NaN;
        var bits = new ushort[values.Length];
        FloatEncoding.SingleToBFloat16(values, bits);
        var back = new float[values.Length];
        FloatEncoding.BFloat16ToSingle(bits, back);
        for (int i = 0; i < values.Length; i++)
        {
            Assert.Equal(FloatEncoding.SingleToBFloat16(values[i]), bits[i]);
            Assert.Equal(FloatEncoding.BFloat16ToSingle(bits[i]), back[i]);
        }
    }

    [Fact]
    public void Non_finite_values_are_found_in_every_dtype()
    {
        var values = new float[100];
        values[77] = float.NaN;
        foreach (var dtype in new[] { TensorDType.F32, TensorDType.F16, TensorDType.BF16 })
        {
            var bytes = new byte[values.Length * FloatEncoding.SizeOf(dtype)];
            FloatEncoding.Encode(values, dtype, bytes);
            Assert.Equal(77, FloatEncoding.IndexOfNonFinite(bytes, dtype));
        }

        Assert.Equal(-1, FloatEncoding.IndexOfNonFinite(new float[33]));
    }
}
