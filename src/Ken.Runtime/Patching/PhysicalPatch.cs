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
    }

    /// <summary>Index of the tensor in the backbone's <see cref="WeightSet"/>s.</summary>
    public int TensorIndex { get; }

    /// <summary>Canonical tensor name, for errors and telemetry.</summary>
    public string Name { get; }

    public byte[] Mask { get; }

    public float[] Values { get; }

    public int ElementCount { get; }

    public long ResidentBytes => Mask.LongLength + (Values.LongLength * sizeof(float));
}
