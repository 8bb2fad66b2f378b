namespace Ken.Bench.Baseline;


/// <summary>Stable LSD radix sort of 32-bit keys carrying an int payload.</summary>
internal static class RadixSort
{
    /// <summary>
    /// Maps a float to a key whose unsigned order is the float order; -0 maps like +0 so equal
    /// values stay one run (sorted by payload, because the sort is stable).
    /// </summary>
    internal static uint FloatKey(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (bits == 0x8000_0000u)
        {
            bits = 0;
        }

        return (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
    }

    /// <summary>
    /// Sorts <paramref name="keys"/> ascending, moving <paramref name="payload"/> along; equal keys
    /// keep their input order. The scratch spans must be at least as long as the keys.
    /// </summary>
    internal static void Sort(Span<uint> keys, Span<int> payload, Span<uint> scratchKeys, Span<int> scratchPayload)
    {
        int n = keys.Length;
        if (n < 2)
        {
            return;
        }

        // One counting pass for all four digits; digits shared by every key are skipped, which for
        // weights (one sign, a narrow exponent range) usually saves one or two passes.
        Span<int> counts = stackalloc int[4 * 256];
        counts.Clear();
        for (int i = 0; i < n; i++)
        {
            uint key = keys[i];
            counts[(int)(key & 0xFF)]++;
            counts[256 + (int)((key >> 8) & 0xFF)]++;
            counts[512 + (int)((key >> 16) & 0xFF)]++;
            counts[768 + (int)(key >> 24)]++;
        }

        Span<uint> srcKeys = keys;
        Span<int> srcPayload = payload;
        Span<uint> dstKeys = scratchKeys[..n];
        Span<int> dstPayload = scratchPayload[..n];
        for (int pass = 0; pass < 4; pass++)
        {
            Span<int> digitCounts = counts.Slice(pass * 256, 256);
            int shift = pass * 8;
            if (digitCounts[(int)((srcKeys[0] >> shift) & 0xFF)] == n)
            {
                continue;
            }

            int offset = 0;
            for (int d = 0; d < 256; d++)
            {
                int c = digitCounts[d];
                digitCounts[d] = offset;
                offset += c;
            }

            for (int i = 0; i < n; i++)
            {
                uint key = srcKeys[i];
                int slot = digitCounts[(int)((key >> shift) & 0xFF)]++;
                dstKeys[slot] = key;
                dstPayload[slot] = srcPayload[i];
            }

            Span<uint> tk = srcKeys;
            srcKeys = dstKeys;
            dstKeys = tk;
            Span<int> tp = srcPayload;
            srcPayload = dstPayload;
            dstPayload = tp;
        }

        if (srcKeys != keys)
        {
            srcKeys.CopyTo(keys);
            srcPayload.CopyTo(payload);
        }
    }
}
