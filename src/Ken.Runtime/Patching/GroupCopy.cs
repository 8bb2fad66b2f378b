using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Ken.Runtime.Patching;

/// <summary>
/// The patch walks for masks made of whole groups of 8 elements (every mask byte 0 or 0xFF: block-selected
/// deltas), driven by the list of set groups (<see cref="PhysicalPatch.Groups"/>) instead of the bitmap:
/// the work is proportional to the kept groups, with no scan of the mask words between them and no
/// data-dependent branch, so a sparse block delta costs what it changes.
/// </summary>
public static class GroupCopy
{
    private const int GroupBytes = 8 * sizeof(float);

    /// <summary>Lists the groups of <paramref name="mask"/> (ascending) if every byte is 0 or 0xFF; null otherwise.</summary>
    public static int[]? ListGroups(ReadOnlySpan<byte> mask)
    {
        var count = 0;
        foreach (var bits in mask)
        {
            if (bits is not (0 or 0xFF))
            {
                return null;
            }

            count += bits & 1;
        }

        var groups = new int[count];
        var next = 0;
        for (var i = 0; i < mask.Length; i++)
        {
            if (mask[i] != 0)
            {
                groups[next++] = i;
            }
        }

        return groups;
    }

    /// <summary>
    /// <c>destination</c> gets <paramref name="pristine"/>'s values in every listed group (restore); returns
    /// how many elements were written.
    /// </summary>
    public static long Restore(ReadOnlySpan<int> groups, ReadOnlySpan<float> pristine, Span<float> destination)
    {
        CheckLengths(groups, pristine.Length, destination.Length);
        ref var src = ref MemoryMarshal.GetReference(pristine);
        ref var dst = ref MemoryMarshal.GetReference(destination);
        foreach (var g in groups)
        {
            var offset = (nuint)g * 8;
            Unsafe.CopyBlockUnaligned(
                ref Unsafe.As<float, byte>(ref Unsafe.Add(ref dst, offset)),
                ref Unsafe.As<float, byte>(ref Unsafe.Add(ref src, offset)),
                GroupBytes);
        }

        return (long)groups.Length * 8;
    }

    /// <summary>
    /// Writes <paramref name="values"/> (8 per group, in group order) to the listed groups (apply); returns
    /// how many values were written, which must be all of them.
    /// </summary>
    public static long Apply(ReadOnlySpan<int> groups, ReadOnlySpan<float> values, Span<float> destination)
    {
        CheckLengths(groups, destination.Length, destination.Length);
        if ((long)groups.Length * 8 != values.Length)
        {
            throw new ArgumentException($"{groups.Length} groups keep {(long)groups.Length * 8} positions but {values.Length} values were given", nameof(values));
        }

        ref var packed = ref MemoryMarshal.GetReference(values);
        ref var dst = ref MemoryMarshal.GetReference(destination);
        for (var i = 0; i < groups.Length; i++)
        {
            Unsafe.CopyBlockUnaligned(
                ref Unsafe.As<float, byte>(ref Unsafe.Add(ref dst, (nuint)groups[i] * 8)),
                ref Unsafe.As<float, byte>(ref Unsafe.Add(ref packed, (nuint)i * 8)),
                GroupBytes);
        }

        return values.Length;
    }

    // Groups come from a mask of the same tensor, so the last one ends within it; checked once, as the walks do not.
    private static void CheckLengths(ReadOnlySpan<int> groups, int sourceLength, int destinationLength)
    {
        if (sourceLength != destinationLength)
        {
            throw new ArgumentException($"source has {sourceLength} elements but destination has {destinationLength}");
        }

        if (groups.Length > 0 && (groups[0] < 0 || ((long)groups[^1] * 8) + 8 > destinationLength))
        {
            throw new ArgumentException($"the groups reach element {((long)groups[^1] * 8) + 8} of a tensor of {destinationLength}", nameof(groups));
        }
    }
}
