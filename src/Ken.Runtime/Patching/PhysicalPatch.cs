namespace Ken.Runtime.Patching;

/// <summary>
/// One patched tensor of a bound task, in the backbone's physical (ONNX) layout: bit <c>i</c> of
/// <see cref="Mask"/> is element <c>i</c> of the weight buffer, and <see cref="Values"/> are the kept
/// values in ascending buffer order, so applying it is one streaming pass over the buffer.
/// </summary>
public sealed class PhysicalPatch
{
    public PhysicalPatch(int tensorIndex, string name, byte[] mask, float[] values, int elementCount)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(mask);
        ArgumentNullException.ThrowIfNull(values);
        TensorIndex = tensorIndex;
        Name = name;
        Mask = mask;
        Values = values;
        ElementCount = elementCount;
        Groups = GroupCopy.ListGroups(mask);
    }

    /// <summary>Index of the tensor in the backbone's <see cref="WeightSet"/>s.</summary>
    public int TensorIndex { get; }

    /// <summary>Canonical tensor name, for errors and telemetry.</summary>
    public string Name { get; }

    public byte[] Mask { get; }

    public float[] Values { get; }

    public int ElementCount { get; }

    /// <summary>
    /// The 8-element groups the mask sets, ascending, when every mask byte is 0 or 0xFF (a block-selected
    /// delta, <c>--block 16</c>); null otherwise. A switch between two such patches walks these lists
    /// (<see cref="GroupCopy"/>) instead of the bitmaps. Costs 4 bytes per 8 kept values.
    /// </summary>
    public int[]? Groups { get; }

    public long ResidentBytes => Mask.LongLength + (Values.LongLength * sizeof(float)) + ((Groups?.LongLength ?? 0) * sizeof(int));
}
