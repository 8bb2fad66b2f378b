using System.Numerics;
using System.Runtime.InteropServices;

namespace Ken.Format.Deltas;

/// <summary>
/// The delta bitmap: bit <c>i</c> (LSB-first within each byte) is element <c>i</c> of the row-major
/// tensor; set = keep the fine-tuned value. Walks go a 64-bit word at a time.
/// </summary>
public static class MaskBits
{
    /// <summary>Bytes needed for <paramref name="elementCount"/> bits: <c>ceil(n / 8)</c>.</summary>
    public static long ByteLength(long elementCount) => (elementCount + 7) >> 3;

    public static bool IsSet(ReadOnlySpan<byte> mask, long index) => (mask[(int)(index >> 3)] & (1 << (int)(index & 7))) != 0;

    public static void Set(Span<byte> mask, long index) => mask[(int)(index >> 3)] |= (byte)(1 << (int)(index & 7));

    /// <summary>Number of set bits.</summary>
    public static long PopCount(ReadOnlySpan<byte> mask)
    {
        var words = MemoryMarshal.Cast<byte, ulong>(mask);
        long count = 0;
        foreach (ulong word in words)
        {
            count += BitOperations.PopCount(word);
        }

        for (int i = words.Length * sizeof(ulong); i < mask.Length; i++)
        {
            count += BitOperations.PopCount(mask[i]);
        }

        return count;
    }

    /// <summary>True when no bit at or beyond <paramref name="elementCount"/> is set (the padding of the last byte).</summary>
    public static bool TrailingBitsAreZero(ReadOnlySpan<byte> mask, long elementCount)
    {
        int used = (int)(elementCount & 7);
        if (used == 0 || mask.Length == 0)
        {
            return true;
        }

        return (mask[^1] >> used) == 0;
    }

    /// <summary>
    /// Copies the elements of <paramref name="source"/> whose bits are set into
    /// <paramref name="destination"/>, in ascending element order; returns how many were copied.
    /// </summary>
    public static int Gather(ReadOnlySpan<byte> mask, ReadOnlySpan<float> source, Span<float> destination)
    {
        CheckLength(mask, source.Length);
        int written = 0;
        for (int byteIndex = 0; byteIndex < mask.Length; byteIndex += sizeof(ulong))
        {
            ulong word = ReadWord(mask, byteIndex);
            int baseIndex = byteIndex * 8;
            while (word != 0)
            {
                destination[written++] = source[baseIndex + BitOperations.TrailingZeroCount(word)];
                word &= word - 1;
            }
        }

        return written;
    }

    /// <summary>
    /// Writes <paramref name="values"/> (ascending element order) to the positions of
    /// <paramref name="destination"/> whose bits are set: applying a delta to base weights.
    /// </summary>
    public static void Scatter(ReadOnlySpan<byte> mask, ReadOnlySpan<float> values, Span<float> destination)
    {
        CheckLength(mask, destination.Length);
        int read = 0;
        for (int byteIndex = 0; byteIndex < mask.Length; byteIndex += sizeof(ulong))
        {
            ulong word = ReadWord(mask, byteIndex);
            int baseIndex = byteIndex * 8;
            while (word != 0)
            {
                destination[baseIndex + BitOperations.TrailingZeroCount(word)] = values[read++];
                word &= word - 1;
            }
        }

        if (read != values.Length)
        {
            throw new ArgumentException($"The mask keeps {read} positions but {values.Length} values were given.", nameof(values));
        }
    }

    private static ulong ReadWord(ReadOnlySpan<byte> mask, int byteIndex)
    {
        if (byteIndex + sizeof(ulong) <= mask.Length)
        {
            return MemoryMarshal.Read<ulong>(mask.Slice(byteIndex));
        }

        ulong word = 0;
        for (int i = mask.Length - 1; i >= byteIndex; i--)
        {
            word = (word << 8) | mask[i];
        }

        return word;
    }

    private static void CheckLength(ReadOnlySpan<byte> mask, int elementCount)
    {
        if (mask.Length != ByteLength(elementCount))
        {
            throw new ArgumentException($"A mask for {elementCount} elements has {ByteLength(elementCount)} bytes, not {mask.Length}.", nameof(mask));
        }

        if (!TrailingBitsAreZero(mask, elementCount))
        {
            throw new ArgumentException("The mask has bits set beyond the tensor's last element.", nameof(mask));
        }
    }
}
