using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Ken.Pruning.Selection;

/// <summary>Stable LSD radix sort of 32-bit keys packed above a 32-bit payload.</summary>
internal static class RadixSort
{
    private const int DigitCount = 4;

    private const int Radix = 256;

    /// <summary>
    /// Maps a float to a key whose unsigned order is the float order; -0 maps like +0 so equal
    /// values stay one run (sorted by payload, because the sort is stable).
    /// </summary>
    /// <remarks>
    /// Branch-free: weights' signs are random, so a branch on the sign mispredicts half the time.
    /// Adding +0 turns -0 into +0; a negative value's bits are all flipped, a positive value's sign
    /// bit set.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint FloatKey(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value + 0f);
        uint flip = (uint)((int)bits >> 31) | 0x8000_0000u;
        return bits ^ flip;
    }

    /// <summary>The float whose <see cref="FloatKey"/> is <paramref name="key"/> (+0 for either zero), branch-free.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float KeyToFloat(uint key)
    {
        uint flip = (uint)((int)~key >> 31) | 0x8000_0000u;
        return BitConverter.UInt32BitsToSingle(key ^ flip);
    }

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

        Span<int> counts = stackalloc int[DigitCount * Radix];
        counts.Clear();
        ref int c = ref MemoryMarshal.GetReference(counts);
        ref ulong src = ref MemoryMarshal.GetReference(items);
        for (int i = 0; i < n; i++)
        {
            Count(ref c, (uint)(Unsafe.Add(ref src, i) >> 32));
        }

        Distribute(items, scratch, counts);
    }

    /// <summary>
    /// Writes (<see cref="FloatKey"/>(row[i]) &lt;&lt; 32 | i) for every position i into
    /// <paramref name="items"/>, sorted by value and then position: the row's sorted order. One
    /// pass builds the items and counts all four digits.
    /// </summary>
    /// <param name="row">The values.</param>
    /// <param name="items">As long as the row; receives the sorted items.</param>
    /// <param name="scratch">At least as long as the row.</param>
    /// <param name="counts">At least <c>4 · 256</c> integers of scratch.</param>
    internal static void SortFloats(ReadOnlySpan<float> row, Span<ulong> items, Span<ulong> scratch, Span<int> counts)
    {
        int n = row.Length;
        counts = counts[..(DigitCount * Radix)];
        counts.Clear();
        ref int c = ref MemoryMarshal.GetReference(counts);
        ref float value = ref MemoryMarshal.GetReference(row);
        ref ulong item = ref MemoryMarshal.GetReference(items[..n]);
        for (int i = 0; i < n; i++)
        {
            uint key = FloatKey(Unsafe.Add(ref value, i));
            Unsafe.Add(ref item, i) = ((ulong)key << 32) | (uint)i;
            Count(ref c, key);
        }

        if (n >= 2)
        {
            Distribute(items[..n], scratch, counts);
        }
    }

    private static void Count(ref int counts, uint key)
    {
        Unsafe.Add(ref counts, (int)(key & 0xFF))++;
        Unsafe.Add(ref counts, Radix + (int)((key >> 8) & 0xFF))++;
        Unsafe.Add(ref counts, (2 * Radix) + (int)((key >> 16) & 0xFF))++;
        Unsafe.Add(ref counts, (3 * Radix) + (int)(key >> 24))++;
    }

    /// <summary>The LSD passes, given every digit's counts; digits shared by every key are skipped.</summary>
    private static void Distribute(Span<ulong> items, Span<ulong> scratch, Span<int> counts)
    {
        // Weights share one sign and a narrow exponent range more often than not, so a skipped
        // digit sometimes saves a pass.
        int n = items.Length;
        ref ulong src = ref MemoryMarshal.GetReference(items);
        ref ulong dst = ref MemoryMarshal.GetReference(scratch[..n]);
        bool inItems = true;
        for (int pass = 0; pass < DigitCount; pass++)
        {
            Span<int> digitCounts = counts.Slice(pass * Radix, Radix);
            int shift = 32 + (pass * 8);
            if (digitCounts[(int)((src >> shift) & 0xFF)] == n)
            {
                continue;
            }

            int offset = 0;
            for (int d = 0; d < Radix; d++)
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
