using Ken.Format.Checkpoints;

namespace Ken.Format.Deltas;

/// <summary>
/// One base tensor a delta patches: which elements take a fine-tuned value (the bitmap), those
/// values in ascending element order, and the fingerprint of the base tensor it was built against.
/// </summary>
public sealed class PatchedTensor
{
    /// <exception cref="ArgumentException">The mask length, its padding bits or its popcount disagree with the shape or the values.</exception>
    public PatchedTensor(string name, IReadOnlyList<long> shape, byte[] mask, float[] values, TensorDType valuesDType, ulong baseFingerprint)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        long elements = 1;
        foreach (var d in shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(d, nameof(shape));
            elements = checked(elements * d);
        }

        if (mask.Length != MaskBits.ByteLength(elements))
        {
            throw new ArgumentException($"Tensor '{name}' has {elements} elements, so its mask needs {MaskBits.ByteLength(elements)} bytes, not {mask.Length}.", nameof(mask));
        }

        if (!MaskBits.TrailingBitsAreZero(mask, elements))
        {
            throw new ArgumentException($"Tensor '{name}' has mask bits set beyond its last element.", nameof(mask));
        }

        long kept = MaskBits.PopCount(mask);
        if (kept != values.Length)
        {
            throw new ArgumentException($"Tensor '{name}' keeps {kept} positions but has {values.Length} values.", nameof(values));
        }

        _ = FloatEncoding.SizeOf(valuesDType);
        Name = name;
        Shape = shape.ToArray();
        ElementCount = elements;
        Mask = mask;
        Values = values;
        ValuesDType = valuesDType;
        BaseFingerprint = baseFingerprint;
    }

    /// <summary>Canonical tensor name (without the <c>mask/</c> or <c>values/</c> prefix).</summary>
    public string Name { get; }

    /// <summary>Canonical shape of the whole tensor.</summary>
    public IReadOnlyList<long> Shape { get; }

    public long ElementCount { get; }

    /// <summary>The bitmap, <c>ceil(ElementCount / 8)</c> bytes, LSB-first.</summary>
    public byte[] Mask { get; }

    /// <summary>Number of kept (fine-tuned) elements: the mask's popcount.</summary>
    public int KeptCount => Values.Length;

    /// <summary>Kept fine-tuned values in ascending element order, as float32.</summary>
    public float[] Values { get; }

    /// <summary>How the values are stored in the file.</summary>
    public TensorDType ValuesDType { get; }

    /// <summary><see cref="TensorFingerprint"/> of the base tensor.</summary>
    public ulong BaseFingerprint { get; }

    /// <summary>
    /// Builds a patch from the fine-tuned tensor and a mask: gathers the kept values.
    /// </summary>
    public static PatchedTensor FromMask(string name, IReadOnlyList<long> shape, ReadOnlySpan<float> finetuned, byte[] mask, TensorDType valuesDType, ulong baseFingerprint)
    {
        long kept = MaskBits.PopCount(mask);
        var values = new float[kept];
        MaskBits.Gather(mask, finetuned, values);
        return new PatchedTensor(name, shape, mask, values, valuesDType, baseFingerprint);
    }

    /// <summary>Writes the kept values into <paramref name="weights"/> (the base tensor, canonical layout).</summary>
    public void ApplyTo(Span<float> weights) => MaskBits.Scatter(Mask, Values, weights);
}
