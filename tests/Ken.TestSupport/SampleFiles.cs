using System.Runtime.InteropServices;
using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Safetensors;
using Ken.Format.Deltas;

namespace Ken.TestSupport;

/// <summary>
/// Small valid files, as bytes, that mutation tests and the fuzzer start from: a <c>.ken</c> delta
/// (two patched tensors in F32 and F16, a head in BF16, every metadata key) and a safetensors checkpoint
/// (F32, F16, BF16 and U8 entries with metadata).
/// </summary>
public static class SampleFiles
{
    /// <summary>A valid <c>.ken</c> file of a classification task, a few hundred bytes.</summary>
    public static byte[] KenDelta()
    {
        var shapeA = new long[] { 3, 7 };
        var finetunedA = Ramp(21, 0.25f);
        var maskA = new byte[MaskBits.ByteLength(21)];
        foreach (var i in new[] { 0, 2, 3, 8, 13, 20 })
        {
            MaskBits.Set(maskA, i);
        }

        var finetunedB = Ramp(16, -1f);
        var maskB = new byte[MaskBits.ByteLength(16)];
        foreach (var i in new[] { 1, 5, 9, 15 })
        {
            MaskBits.Set(maskB, i);
        }

        var delta = new KenDelta(
            new KenDeltaMetadata
            {
                Task = "sample",
                Kind = TaskKind.Classification,
                Labels = ["negative", "positive"],
                Pooling = PoolingMode.Cls,
                Normalize = true,
                K = 2,
                Method = "magnitude",
                Seed = 7,
                CreatedBy = "ken tests",
                BaseModel = "minilm",
            },
            [
                PatchedTensor.FromMask("encoder.layer.0.attention.self.query.weight", shapeA, finetunedA, maskA, TensorDType.F32, TensorFingerprint.Compute(new float[21])),
                PatchedTensor.FromMask("encoder.layer.0.output.dense.bias", [16], finetunedB, maskB, TensorDType.F16, TensorFingerprint.Compute(new float[16])),
            ],
            [new HeadTensor("classifier.weight", [2, 3], Ramp(6, 0.5f), TensorDType.BF16)]);
        using var temp = new TempDirectory();
        var path = temp.File("sample.ken");
        KenDeltaWriter.Write(path, delta);
        return File.ReadAllBytes(path);
    }

    /// <summary>A valid safetensors file with float and byte entries and metadata, a few hundred bytes.</summary>
    public static byte[] Safetensors()
    {
        var f32 = Ramp(12, 1f);
        var f16 = new Half[8];
        var bf16 = new ushort[6];
        for (var i = 0; i < f16.Length; i++)
        {
            f16[i] = (Half)(i * 0.5f);
        }

        for (var i = 0; i < bf16.Length; i++)
        {
            bf16[i] = (ushort)(BitConverter.SingleToUInt32Bits(i - 2.5f) >> 16);
        }

        using var stream = new MemoryStream();
        var writer = new SafetensorsWriter(
            stream,
            [
                new SafetensorsDeclaration("embeddings.word_embeddings.weight", "F32", [3, 4]),
                new SafetensorsDeclaration("encoder.layer.0.output.dense.bias", "F16", [8]),
                new SafetensorsDeclaration("pooler.dense.bias", "BF16", [2, 3]),
                new SafetensorsDeclaration("mask/x", "U8", [5]),
            ],
            new Dictionary<string, string>(StringComparer.Ordinal) { ["format"] = "pt", ["note"] = "sample" });
        writer.WriteEntry("embeddings.word_embeddings.weight", f32);
        writer.WriteEntry("encoder.layer.0.output.dense.bias", MemoryMarshal.AsBytes(f16.AsSpan()));
        writer.WriteEntry("pooler.dense.bias", MemoryMarshal.AsBytes(bf16.AsSpan()));
        writer.WriteEntry("mask/x", [1, 2, 3, 4, 5]);
        writer.Complete();
        return stream.ToArray();
    }

    private static float[] Ramp(int count, float step)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = (i - (count / 2)) * step;
        }

        return values;
    }
}
