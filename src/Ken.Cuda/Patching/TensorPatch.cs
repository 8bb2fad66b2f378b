using System.Runtime.InteropServices;

namespace Ken.Cuda.Patching;

/// <summary>
/// One tensor of a task as a <c>.ken</c> file stores it: an LSB-first bitmap of <c>ceil(n / 8)</c> bytes
/// (bit i = element i of the weight buffer) and the kept values in ascending element order, little-endian
/// in <see cref="ValueType"/>. <see cref="DevicePatcher.Bind"/> checks it against the backbone.
/// </summary>
public sealed class TensorPatch
{
    public TensorPatch(int tensorIndex, ReadOnlyMemory<byte> mask, ReadOnlyMemory<byte> values, PatchValueType valueType)
    {
        if (!Enum.IsDefined(valueType))
        {
            throw new ArgumentOutOfRangeException(nameof(valueType), $"unknown value type {valueType}");
        }

        TensorIndex = tensorIndex;
        Mask = mask;
        Values = values;
        ValueType = valueType;
    }

    /// <summary>Index of the tensor in the backbone list the <see cref="DevicePatcher"/> was made with.</summary>
    public int TensorIndex { get; }

    public ReadOnlyMemory<byte> Mask { get; }

    public ReadOnlyMemory<byte> Values { get; }

    public PatchValueType ValueType { get; }

    /// <summary>Bytes per stored value.</summary>
    public int ValueSize => ValueType == PatchValueType.F32 ? sizeof(float) : sizeof(ushort);

    /// <summary>A patch whose values are already floats (copied).</summary>
    public static TensorPatch FromSingles(int tensorIndex, ReadOnlyMemory<byte> mask, ReadOnlySpan<float> values) =>
        new(tensorIndex, mask, MemoryMarshal.AsBytes(values).ToArray(), PatchValueType.F32);
}
