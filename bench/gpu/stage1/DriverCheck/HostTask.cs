using System.Buffers.Binary;
using Ken.Cuda.Patching;

namespace Ken.Perf.Gpu;

/// <summary>A random task over the backbone's tensors, kept on the host with the floats its values decode to.</summary>
internal sealed class HostTask
{
    public HostTask(Random random, int[] lengths, double keep, PatchValueType type, Func<int, bool>? patched = null)
    {
        Masks = new byte[]?[lengths.Length];
        Decoded = new float[]?[lengths.Length];
        var patches = new List<TensorPatch>();
        for (var t = 0; t < lengths.Length; t++)
        {
            if (patched is not null && !patched(t))
            {
                continue;
            }

            var n = lengths[t];
            var mask = new byte[(n + 7) / 8];
            var kept = new List<float>();
            var size = type == PatchValueType.F32 ? 4 : 2;
            var raw = new byte[(long)n * size];
            var written = 0;
            for (var i = 0; i < n; i++)
            {
                if (random.NextDouble() >= keep)
                {
                    continue;
                }

                mask[i >> 3] |= (byte)(1 << (i & 7));
                var value = (float)((random.NextDouble() - 0.5) * 0.1);
                var buffer = raw.AsSpan(written, size);
                written += size;
                switch (type)
                {
                    case PatchValueType.F16:
                        BinaryPrimitives.WriteHalfLittleEndian(buffer, (Half)value);
                        kept.Add((float)BinaryPrimitives.ReadHalfLittleEndian(buffer));
                        break;
                    case PatchValueType.BF16:
                        BinaryPrimitives.WriteUInt16LittleEndian(buffer, (ushort)(BitConverter.SingleToUInt32Bits(value) >> 16));
                        kept.Add(BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(buffer) << 16));
                        break;
                    default:
                        BinaryPrimitives.WriteSingleLittleEndian(buffer, value);
                        kept.Add(value);
                        break;
                }
            }

            Masks[t] = mask;
            Decoded[t] = [.. kept];
            patches.Add(new TensorPatch(t, mask, raw.AsMemory(0, written), type));
        }

        Patches = patches;
    }

    public byte[]?[] Masks { get; }

    public float[]?[] Decoded { get; }

    public IReadOnlyList<TensorPatch> Patches { get; }

    /// <summary>The switch rule on the host: bit of B -> B's value; else bit of A -> pristine; else untouched.</summary>
    public static void Switch(float[] weights, float[] pristine, byte[]? maskA, byte[]? maskB, float[]? valuesB)
    {
        var rank = 0;
        for (var i = 0; i < weights.Length; i++)
        {
            if (maskB is not null && (maskB[i >> 3] & (1 << (i & 7))) != 0)
            {
                weights[i] = valuesB![rank++];
            }
            else if (maskA is not null && (maskA[i >> 3] & (1 << (i & 7))) != 0)
            {
                weights[i] = pristine[i];
            }
        }
    }
}
