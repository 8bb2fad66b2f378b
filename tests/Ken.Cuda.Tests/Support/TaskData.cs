using System.Buffers.Binary;
using Ken.Cuda.Patching;

namespace Ken.Cuda.Tests.Support;

/// <summary>
/// One task in <c>.ken</c> form for a list of tensors: per tensor a mask (LSB-first bytes) or none, and the
/// kept values encoded as <see cref="ValueType"/>; <see cref="Decoded"/> holds the floats they stand for.
/// </summary>
public sealed class TaskData
{
    private TaskData(byte[]?[] masks, byte[]?[] values, float[]?[] decoded, PatchValueType valueType)
    {
        Masks = masks;
        Values = values;
        Decoded = decoded;
        ValueType = valueType;
    }

    public byte[]?[] Masks { get; }

    public byte[]?[] Values { get; }

    public float[]?[] Decoded { get; }

    public PatchValueType ValueType { get; }

    /// <summary>
    /// A random task over tensors of <paramref name="lengths"/>; tensor t is patched when <paramref name="patched"/>
    /// says so (all when null). <paramref name="avoid"/> (another task's masks) makes the masks disjoint from it.
    /// </summary>
    public static TaskData Random(Random random, int[] lengths, MaskDensity density, PatchValueType valueType, Func<int, bool>? patched = null, TaskData? avoid = null)
    {
        var masks = new byte[]?[lengths.Length];
        var values = new byte[]?[lengths.Length];
        var decoded = new float[]?[lengths.Length];
        for (var t = 0; t < lengths.Length; t++)
        {
            if (patched is not null && !patched(t))
            {
                continue;
            }

            var n = lengths[t];
            var mask = new byte[(n + 7) / 8];
            var forbidden = avoid?.Masks[t];
            var candidates = Enumerable.Range(0, n).Where(i => forbidden is null || !IsSet(forbidden, i)).ToArray();
            var take = density switch
            {
                MaskDensity.Empty => 0,
                MaskDensity.OneBit => Math.Min(1, candidates.Length),
                MaskDensity.Sparse => (int)Math.Round(candidates.Length * 0.05),
                MaskDensity.Half => candidates.Length / 2,
                _ => candidates.Length,
            };
            random.Shuffle(candidates);
            foreach (var i in candidates.AsSpan(0, take))
            {
                mask[i >> 3] |= (byte)(1 << (i & 7));
            }

            var size = valueType == PatchValueType.F32 ? 4 : 2;
            var raw = new byte[take * size];
            var floats = new float[take];
            for (var k = 0; k < take; k++)
            {
                floats[k] = Encode(random, valueType, raw.AsSpan(k * size, size));
            }

            masks[t] = mask;
            values[t] = raw;
            decoded[t] = floats;
        }

        return new TaskData(masks, values, decoded, valueType);
    }

    public static bool IsSet(byte[] mask, int i) => (mask[i >> 3] & (1 << (i & 7))) != 0;

    /// <summary>The float a stored value stands for, computed by .NET's own conversions.</summary>
    public static float Decode(PatchValueType type, ReadOnlySpan<byte> raw) => type switch
    {
        PatchValueType.F16 => (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(raw)),
        PatchValueType.BF16 => BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(raw) << 16),
        _ => BinaryPrimitives.ReadSingleLittleEndian(raw),
    };

    public IReadOnlyList<TensorPatch> ToPatches()
    {
        var patches = new List<TensorPatch>();
        for (var t = 0; t < Masks.Length; t++)
        {
            if (Masks[t] is { } mask)
            {
                patches.Add(new TensorPatch(t, mask, Values[t]!, ValueType));
            }
        }

        return patches;
    }

    // Random bit patterns cover every class (normals, subnormals, zeros, infinities) except NaN,
    // which a .ken file never holds (the server validates finiteness; infinities test the conversion).
    private static float Encode(Random random, PatchValueType type, Span<byte> raw)
    {
        switch (type)
        {
            case PatchValueType.F16:
                {
                    ushort bits;
                    do
                    {
                        bits = (ushort)random.Next(0, 65536);
                    }
                    while ((bits & 0x7c00) == 0x7c00 && (bits & 0x3ff) != 0);
                    BinaryPrimitives.WriteUInt16LittleEndian(raw, bits);
                    break;
                }

            case PatchValueType.BF16:
                {
                    ushort bits;
                    do
                    {
                        bits = (ushort)random.Next(0, 65536);
                    }
                    while ((bits & 0x7f80) == 0x7f80 && (bits & 0x7f) != 0);
                    BinaryPrimitives.WriteUInt16LittleEndian(raw, bits);
                    break;
                }

            default:
                BinaryPrimitives.WriteSingleLittleEndian(raw, (float)((random.NextDouble() * 2) - 1) * MathF.Pow(2, random.Next(-20, 20)));
                break;
        }

        return Decode(type, raw);
    }
}
