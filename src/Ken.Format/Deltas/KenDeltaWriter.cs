using System.Buffers;
using System.Globalization;
using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Safetensors;
using Ken.Format.IO;

namespace Ken.Format.Deltas;

/// <summary>Writes a <see cref="KenDelta"/> as a <c>.ken</c> file (a safetensors file), atomically.</summary>
public static class KenDeltaWriter
{
    /// <summary>
    /// Writes <paramref name="delta"/> to <paramref name="path"/>, replacing any file there only once
    /// the new one is complete and on disk. Values are stored in each tensor's declared dtype.
    /// </summary>
    public static void Write(string path, KenDelta delta)
    {
        var metadata = delta.Metadata.ToDictionary(path);
        var declarations = new List<SafetensorsDeclaration>(delta.PatchedTensors.Count * 2 + delta.HeadTensors.Count);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var patch in delta.PatchedTensors)
        {
            if (!names.Add(patch.Name))
            {
                throw new KenException($"{path}: tensor '{patch.Name}' appears twice in the delta; each tensor can be patched or stored whole once.");
            }

            declarations.Add(new SafetensorsDeclaration(KenDelta.MaskPrefix + patch.Name, "U8", [patch.Mask.LongLength]));
            declarations.Add(new SafetensorsDeclaration(KenDelta.ValuesPrefix + patch.Name, patch.ValuesDType, [patch.Values.LongLength]));
            metadata[KenDeltaMetadata.BaseFingerprintPrefix + patch.Name] = TensorFingerprint.ToHex(patch.BaseFingerprint);
            metadata[KenDeltaMetadata.ShapePrefix + patch.Name] = FormatShape(patch.Shape);
        }

        foreach (var head in delta.HeadTensors)
        {
            if (!names.Add(head.Name))
            {
                throw new KenException($"{path}: tensor '{head.Name}' appears twice in the delta; each tensor can be patched or stored whole once.");
            }

            declarations.Add(new SafetensorsDeclaration(KenDelta.HeadPrefix + head.Name, head.DType, head.Shape));
        }

        AtomicFile.Write(path, stream =>
        {
            var writer = new SafetensorsWriter(stream, declarations, metadata);
            foreach (var patch in delta.PatchedTensors)
            {
                writer.WriteEntry(KenDelta.MaskPrefix + patch.Name, patch.Mask);
                WriteFloats(writer, path, KenDelta.ValuesPrefix + patch.Name, patch.Values, patch.ValuesDType);
            }

            foreach (var head in delta.HeadTensors)
            {
                WriteFloats(writer, path, KenDelta.HeadPrefix + head.Name, head.Data, head.DType);
            }

            writer.Complete();
        });
    }

    internal static string FormatShape(IReadOnlyList<long> shape)
    {
        var parts = new string[shape.Count];
        for (int i = 0; i < parts.Length; i++)
        {
            parts[i] = shape[i].ToString(CultureInfo.InvariantCulture);
        }

        return string.Join(',', parts);
    }

    private static void WriteFloats(SafetensorsWriter writer, string path, string entryName, float[] values, TensorDType dtype)
    {
        int bad = FloatEncoding.IndexOfNonFinite(values);
        if (bad >= 0)
        {
            throw new KenException($"{path}: tensor '{entryName}' has the non-finite value {values[bad].ToString(CultureInfo.InvariantCulture)} at element {bad}; check the fine-tuned checkpoint for NaN or infinite weights.");
        }

        int byteLength = checked(values.Length * FloatEncoding.SizeOf(dtype));
        byte[] bytes = ArrayPool<byte>.Shared.Rent(byteLength);
        try
        {
            var encoded = bytes.AsSpan(0, byteLength);
            FloatEncoding.Encode(values, dtype, encoded);

            // Finite float32 can still overflow a narrower type (F16 tops out at 65504).
            bad = FloatEncoding.IndexOfNonFinite(encoded, dtype);
            if (bad >= 0)
            {
                throw new KenException($"{path}: tensor '{entryName}' has the value {values[bad].ToString(CultureInfo.InvariantCulture)} at element {bad}, which does not fit {FloatEncoding.ToSafetensorsName(dtype)}; store values as F32 or BF16.");
            }

            writer.WriteEntry(entryName, encoded);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }
}
