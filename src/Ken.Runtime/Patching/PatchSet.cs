namespace Ken.Runtime.Patching;

/// <summary>
/// A task's patches in the backbone's physical layout, largest first so that parallel patching
/// finishes evenly: what a patcher writes into a weight set and takes out again.
/// </summary>
public sealed class PatchSet
{
    public PatchSet(IReadOnlyList<PhysicalPatch> patches)
    {
        ArgumentNullException.ThrowIfNull(patches);
        Patches = patches;
        long values = 0, bytes = 0, lines = 0;
        foreach (var patch in patches)
        {
            values += patch.Values.Length;
            bytes += patch.ResidentBytes;
            lines += TouchedLines(patch.Mask);
        }

        ValueCount = values;
        Bytes = bytes;
        TouchedBytes = lines * LineBytes;
    }

    /// <summary>Bytes of one cache line: 16 float32 elements, two mask bytes.</summary>
    public const int LineBytes = 64;

    public IReadOnlyList<PhysicalPatch> Patches { get; }

    /// <summary>Total kept values over all patches.</summary>
    public long ValueCount { get; }

    /// <summary>Bytes the patches hold (masks and values).</summary>
    public long Bytes { get; }

    /// <summary>
    /// Bytes of the 64-byte weight lines that hold at least one kept value (buffers are line-aligned): what
    /// applying or restoring these patches reads and writes. Scattered masks touch most lines even at low
    /// density; masks kept in aligned blocks of 16 touch only their own lines.
    /// </summary>
    public long TouchedBytes { get; }

    /// <summary>Lines of 16 elements (two mask bytes) with any bit set.</summary>
    public static long TouchedLines(ReadOnlySpan<byte> mask)
    {
        long lines = 0;
        var i = 0;
        for (; i + 1 < mask.Length; i += 2)
        {
            if ((mask[i] | mask[i + 1]) != 0)
            {
                lines++;
            }
        }

        if (i < mask.Length && mask[i] != 0)
        {
            lines++;
        }

        return lines;
    }
}
