using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Ken.Runtime.Patching;

/// <summary>
/// The two bitmap walks of a swap. Both skip 64 untouched elements per zero mask word and move
/// whole runs of 8 kept elements at once, so sparse and dense masks both stream.
/// </summary>
public static class MaskedCopy
{
    // Lane masks for one mask byte: entry b has lane j all-ones when bit j of b is set. 8 KiB, built once.
    private static readonly Vector256<int>[] LaneMasks = BuildLaneMasks();

    // Expand permutations for one mask byte: lane j of entry b reads the value whose rank among b's set
    // bits is j's, so 8 packed values land on their masked lanes in one shuffle. 8 KiB, built once.
    private static readonly Vector256<int>[] ExpandIndices = BuildExpandIndices();

    /// <summary>
    /// <c>destination[i] = source[i]</c> for every set bit <c>i</c> (restore from pristine);
    /// returns how many elements were copied.
    /// </summary>
    public static long CopySelected(ReadOnlySpan<byte> mask, ReadOnlySpan<float> source, Span<float> destination)
    {
        CheckLengths(mask, source.Length, destination.Length);
        var fullBytes = destination.Length >> 3;
        ref var src = ref MemoryMarshal.GetReference(source);
        ref var dst = ref MemoryMarshal.GetReference(destination);
        var vectorized = Vector256.IsHardwareAccelerated;
        long copied = 0;
        var b = 0;
        while (b < fullBytes)
        {
            if (b + sizeof(ulong) <= fullBytes && MemoryMarshal.Read<ulong>(mask.Slice(b)) == 0)
            {
                b += sizeof(ulong);
                continue;
            }

            int bits = mask[b];
            if (bits != 0)
            {
                var offset = (nuint)(b * 8);
                copied += BitOperations.PopCount((uint)bits);
                if (bits == 0xFF)
                {
                    Unsafe.CopyBlockUnaligned(
                        ref Unsafe.As<float, byte>(ref Unsafe.Add(ref dst, offset)),
                        ref Unsafe.As<float, byte>(ref Unsafe.Add(ref src, offset)),
                        8 * sizeof(float));
                }
                else if (vectorized)
                {
                    var keep = LaneMasks[bits].AsSingle();
                    var merged = Vector256.ConditionalSelect(keep, Vector256.LoadUnsafe(ref src, offset), Vector256.LoadUnsafe(ref dst, offset));
                    merged.StoreUnsafe(ref dst, offset);
                }
                else
                {
                    CopyBits(bits, b * 8, source, destination);
                }
            }

            b++;
        }

        if ((destination.Length & 7) != 0)
        {
            int bits = mask[fullBytes];
            copied += BitOperations.PopCount((uint)bits);
            CopyBits(bits, fullBytes * 8, source, destination);
        }

        return copied;
    }

    /// <summary>
    /// Writes <paramref name="values"/> (ascending element order) to the positions whose bits are set
    /// (apply a patch); returns how many values were written, which must be all of them.
    /// </summary>
    public static long Scatter(ReadOnlySpan<byte> mask, ReadOnlySpan<float> values, Span<float> destination)
    {
        CheckLengths(mask, destination.Length, destination.Length);
        var read = 0;
        var fullBytes = destination.Length >> 3;
        ref var dst = ref MemoryMarshal.GetReference(destination);
        ref var packed = ref MemoryMarshal.GetReference(values);
        var expand = Avx2.IsSupported;
        var b = 0;
        while (b < fullBytes)
        {
            if (b + sizeof(ulong) <= fullBytes && MemoryMarshal.Read<ulong>(mask.Slice(b)) == 0)
            {
                b += sizeof(ulong);
                continue;
            }

            int bits = mask[b];
            if (bits == 0xFF)
            {
                values.Slice(read, 8).CopyTo(destination.Slice(b * 8, 8));
                read += 8;
            }
            else if (expand && bits != 0 && read + 8 <= values.Length)
            {
                // Branch-free: a random half-dense mask defeats the branch predictor of a bit loop.
                var offset = (nuint)(b * 8);
                var spread = Avx2.PermuteVar8x32(Vector256.LoadUnsafe(ref packed, (nuint)read), ExpandIndices[bits]);
                Vector256.ConditionalSelect(LaneMasks[bits].AsSingle(), spread, Vector256.LoadUnsafe(ref dst, offset)).StoreUnsafe(ref dst, offset);
                read += BitOperations.PopCount((uint)bits);
            }
            else
            {
                while (bits != 0)
                {
                    destination[(b * 8) + BitOperations.TrailingZeroCount(bits)] = values[read++];
                    bits &= bits - 1;
                }
            }

            b++;
        }

        if ((destination.Length & 7) != 0)
        {
            int bits = mask[fullBytes];
            while (bits != 0)
            {
                destination[(fullBytes * 8) + BitOperations.TrailingZeroCount(bits)] = values[read++];
                bits &= bits - 1;
            }
        }

        if (read != values.Length)
        {
            throw new ArgumentException($"the mask keeps {read} positions but {values.Length} values were given", nameof(values));
        }

        return read;
    }

    /// <summary>
    /// Moves a buffer that holds the old patch to the new one in one pass: every position the new mask
    /// sets gets its value, every other position of a touched 8-element group gets the pristine value.
    /// Only valid while positions outside <paramref name="oldMask"/> still equal
    /// <paramref name="pristine"/> (true for a slot that holds exactly the old task), so a group
    /// neither mask touches is skipped, whether a whole 64-element mask word or a single mask byte, so
    /// a block-selected mask touches only the lines its blocks (and the old task's) occupy. Returns
    /// how many old-only positions were restored.
    /// </summary>
    public static long Replace(ReadOnlySpan<byte> oldMask, ReadOnlySpan<byte> newMask, ReadOnlySpan<float> newValues, ReadOnlySpan<float> pristine, Span<float> destination)
    {
        CheckLengths(oldMask, pristine.Length, destination.Length);
        CheckLengths(newMask, pristine.Length, destination.Length);
        var read = 0;
        long restored = 0;
        var fullBytes = destination.Length >> 3;
        ref var dst = ref MemoryMarshal.GetReference(destination);
        ref var src = ref MemoryMarshal.GetReference(pristine);
        ref var packed = ref MemoryMarshal.GetReference(newValues);
        var expand = Avx2.IsSupported;
        // One mask word (64 elements) at a time; inside it, only the bytes either task sets are
        // visited (a trailing-zero scan, so a sparse or block-structured word costs no mispredicted
        // per-byte branches), and each visited byte is one branch-free expand-and-blend.
        var b = 0;
        while (b < fullBytes)
        {
            ulong any;
            int width;
            if (b + sizeof(ulong) <= fullBytes)
            {
                any = MemoryMarshal.Read<ulong>(oldMask.Slice(b)) | MemoryMarshal.Read<ulong>(newMask.Slice(b));
                width = sizeof(ulong);
            }
            else
            {
                any = (ulong)(oldMask[b] | newMask[b]);
                width = 1;
            }

            while (any != 0)
            {
                var j = BitOperations.TrailingZeroCount(any) >> 3;
                any &= ~(0xFFUL << (j * 8));
                var at = b + j;
                int bitsNew = newMask[at];
                int bitsOld = oldMask[at];
                restored += BitOperations.PopCount((uint)(bitsOld & ~bitsNew));
                var offset = (nuint)(at * 8);
                if (expand && read + 8 <= newValues.Length)
                {
                    // bitsNew 0: pristine for the whole group (old-only positions restored, the rest
                    // already pristine); 0xFF: eight new values.
                    var spread = Avx2.PermuteVar8x32(Vector256.LoadUnsafe(ref packed, (nuint)read), ExpandIndices[bitsNew]);
                    Vector256.ConditionalSelect(LaneMasks[bitsNew].AsSingle(), spread, Vector256.LoadUnsafe(ref src, offset)).StoreUnsafe(ref dst, offset);
                    read += BitOperations.PopCount((uint)bitsNew);
                }
                else
                {
                    read = ReplaceBits(bitsOld, bitsNew, at * 8, newValues, read, pristine, destination);
                }
            }

            b += width;
        }

        if ((destination.Length & 7) != 0)
        {
            int bitsNew = newMask[fullBytes];
            int bitsOld = oldMask[fullBytes];
            restored += BitOperations.PopCount((uint)(bitsOld & ~bitsNew));
            read = ReplaceBits(bitsOld, bitsNew, fullBytes * 8, newValues, read, pristine, destination);
        }

        if (read != newValues.Length)
        {
            throw new ArgumentException($"the mask keeps {read} positions but {newValues.Length} values were given", nameof(newValues));
        }

        return restored;
    }

    private static int ReplaceBits(int bitsOld, int bitsNew, int start, ReadOnlySpan<float> values, int read, ReadOnlySpan<float> pristine, Span<float> destination)
    {
        for (var j = 0; j < 8; j++)
        {
            var i = start + j;
            if ((bitsNew & (1 << j)) != 0)
            {
                destination[i] = values[read++];
            }
            else if ((bitsOld & (1 << j)) != 0)
            {
                destination[i] = pristine[i];
            }
        }

        return read;
    }

    private static void CopyBits(int bits, int start, ReadOnlySpan<float> source, Span<float> destination)
    {
        while (bits != 0)
        {
            var i = start + BitOperations.TrailingZeroCount(bits);
            destination[i] = source[i];
            bits &= bits - 1;
        }
    }

    private static void CheckLengths(ReadOnlySpan<byte> mask, int sourceLength, int destinationLength)
    {
        if (sourceLength != destinationLength)
        {
            throw new ArgumentException($"source has {sourceLength} elements, destination {destinationLength}", nameof(sourceLength));
        }

        if (mask.Length != (destinationLength + 7) >> 3)
        {
            throw new ArgumentException($"a mask for {destinationLength} elements has {(destinationLength + 7) >> 3} bytes, not {mask.Length}", nameof(mask));
        }

        // Bits past the last element would index outside the buffer in the tail loops.
        var used = destinationLength & 7;
        if (used != 0 && (mask[^1] >> used) != 0)
        {
            throw new ArgumentException("the mask has bits set beyond the tensor's last element", nameof(mask));
        }
    }

    private static Vector256<int>[] BuildExpandIndices()
    {
        var table = new Vector256<int>[256];
        Span<int> lanes = stackalloc int[8];
        for (var b = 0; b < 256; b++)
        {
            for (var j = 0; j < 8; j++)
            {
                lanes[j] = BitOperations.PopCount((uint)(b & ((1 << j) - 1)));
            }

            table[b] = Vector256.Create<int>(lanes);
        }

        return table;
    }

    private static Vector256<int>[] BuildLaneMasks()
    {
        var table = new Vector256<int>[256];
        Span<int> lanes = stackalloc int[8];
        for (var b = 0; b < 256; b++)
        {
            for (var j = 0; j < 8; j++)
            {
                lanes[j] = (b & (1 << j)) != 0 ? -1 : 0;
            }

            table[b] = Vector256.Create<int>(lanes);
        }

        return table;
    }
}
