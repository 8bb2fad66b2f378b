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
        long values = 0, bytes = 0;
        foreach (var patch in patches)
        {
            values += patch.Values.Length;
            bytes += patch.ResidentBytes;
        }

        ValueCount = values;
        Bytes = bytes;
    }

    public IReadOnlyList<PhysicalPatch> Patches { get; }

    /// <summary>Total kept values over all patches.</summary>
    public long ValueCount { get; }

    /// <summary>Bytes the patches hold (masks and values).</summary>
    public long Bytes { get; }
}
