namespace Ken.Cuda.Tests.Support;

/// <summary>
/// The switch semantics in plain C#, element by element: bit i of B set -> B's value of rank i; else bit i
/// of A set -> pristine[i]; else untouched. The CPU patcher (MaskedCopy.Replace) implements the same rule.
/// </summary>
public static class PatchReference
{
    public static void Switch(Span<float> weights, ReadOnlySpan<float> pristine, byte[]? maskA, byte[]? maskB, float[]? valuesB)
    {
        var rank = 0;
        for (var i = 0; i < weights.Length; i++)
        {
            if (maskB is not null && TaskData.IsSet(maskB, i))
            {
                weights[i] = valuesB![rank++];
            }
            else if (maskA is not null && TaskData.IsSet(maskA, i))
            {
                weights[i] = pristine[i];
            }
        }

        Assert.Equal(valuesB?.Length ?? 0, rank);
    }

    /// <summary>Asserts bitwise equality (so -0 and +0, or different infinities, count as different).</summary>
    public static void AssertSame(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToUInt32Bits(expected[i]) != BitConverter.SingleToUInt32Bits(actual[i]))
            {
                Assert.Fail($"{what}: element {i} is {actual[i]} (0x{BitConverter.SingleToUInt32Bits(actual[i]):x8}), expected {expected[i]} (0x{BitConverter.SingleToUInt32Bits(expected[i]):x8})");
            }
        }
    }
}
