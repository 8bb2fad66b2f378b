namespace Ken.Runtime.Tests.Patching;

/// <summary>Masks for the patch walk tests.</summary>
internal static class TestMasks
{
    /// <summary>16-element blocks (one 64-byte line of float32) kept with <paramref name="density"/>, as `ken prune --block 16` writes them.</summary>
    public static byte[] Blocks(Random random, int count, double density)
    {
        var mask = new byte[(count + 7) / 8];
        for (var block = 0; block < count / 16; block++)
        {
            if (random.NextDouble() < density)
            {
                mask[2 * block] = mask[(2 * block) + 1] = 0xFF;
            }
        }

        return mask;
    }
}
