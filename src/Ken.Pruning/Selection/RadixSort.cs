using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Ken.Pruning.Selection;

/// <summary>Stable LSD radix sort of 32-bit keys packed above a 32-bit payload.</summary>
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

    /// <summary>The float whose <see cref="FloatKey"/> is <paramref name="key"/> (+0 for either zero).</summary>
    internal static float KeyToFloat(uint key) =>
        BitConverter.UInt32BitsToSingle((key & 0x8000_0000u) != 0 ? key & 0x7FFF_FFFFu : ~key);

    /// <summary>
    /// Sorts <paramref name="items"/> ascending by their upper 32 bits, stably, so items that were
    /// in ascending order of their lower 32 bits (a payload such as a position) stay that way within
    /// equal keys. <paramref name="scratch"/> must be at least as long as the items.
    /// </summary>
    internal static void SortByUpperHalf(Span<ulong> items, Span<ulong> scratch)
    {
        int n = items.Length;
        if (n < 2)
        {
            return;
        }

        // One counting pass for all four digits; digits shared by every key are skipped, which for
        // weights (one sign, a narrow exponent range) sometimes saves a pass.
        Span<int> counts = stackalloc int[4 * 256];
        counts.Clear();
        ref int c = ref MemoryMarshal.GetReference(counts);
        ref ulong src = ref MemoryMarshal.GetReference(items);
        for (int i = 0; i < n; i++)
        {
            uint key = (uint)(Unsafe.Add(ref src, i) >> 32);
            Unsafe.Add(ref c, (int)(key & 0xFF))++;
            Unsafe.Add(ref c, 256 + (int)((key >> 8) & 0xFF))++;
            Unsafe.Add(ref c, 512 + (int)((key >> 16) & 0xFF))++;
            Unsafe.Add(ref c, 768 + (int)(key >> 24))++;
        }

        ref ulong dst = ref MemoryMarshal.GetReference(scratch[..n]);
        bool inItems = true;
        for (int pass = 0; pass < 4; pass++)
        {
            Span<int> digitCounts = counts.Slice(pass * 256, 256);
            int shift = 32 + (pass * 8);
            if (digitCounts[(int)((src >> shift) & 0xFF)] == n)
            {
                continue;
            }

            int offset = 0;
            for (int d = 0; d < 256; d++)
            {
                int count = digitCounts[d];
                digitCounts[d] = offset;
                offset += count;
            }

            // Every slot is a prefix count below n, so the unchecked stores stay inside the buffer.
            ref int digitBase = ref MemoryMarshal.GetReference(digitCounts);
            for (int i = 0; i < n; i++)
            {
                ulong item = Unsafe.Add(ref src, i);
                ref int slot = ref Unsafe.Add(ref digitBase, (int)((item >> shift) & 0xFF));
                Unsafe.Add(ref dst, slot) = item;
                slot++;
            }

            ref ulong swap = ref src;
            src = ref dst;
            dst = ref swap;
            inItems = !inItems;
        }

        if (!inItems)
        {
            scratch[..n].CopyTo(items);
        }
    }
}
