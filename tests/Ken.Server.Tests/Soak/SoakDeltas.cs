using Ken.Format.Checkpoints;
using Ken.Format.Deltas;

namespace Ken.Server.Tests.Soak;

/// <summary>
/// Small real minilm deltas for the soak: one patched value of <c>embeddings.LayerNorm.bias</c> (its
/// fingerprint ties the delta to minilm), set to a value per version, so versions answer differently;
/// classifiers get a two-label head.
/// </summary>
internal static class SoakDeltas
{
    private const string Tensor = "embeddings.LayerNorm.bias";

    public static byte[] Bytes(string task, TaskKind kind, int version)
    {
        using var minilm = CheckpointLoader.Open("minilm");
        minilm.TryGetInfo(Tensor, out var info);
        var data = new float[info.ElementCount];
        minilm.ReadFloat32(Tensor, data);
        var mask = new byte[MaskBits.ByteLength(data.Length)];
        MaskBits.Set(mask, version % data.Length);
        var patched = new PatchedTensor(Tensor, info.Shape, mask, [data[version % data.Length] + (0.25f * version)], TensorDType.F32, TensorFingerprint.Compute(data));
        var classifier = kind == TaskKind.Classification;
        var metadata = new KenDeltaMetadata
        {
            Task = task,
            Kind = kind,
            Labels = classifier ? ["yes", "no"] : [],
            Pooling = PoolingMode.Mean,
            Method = "magnitude",
            K = 1,
            CreatedBy = "ken-soak-test",
        };
        HeadTensor[] heads = classifier
            ? [new HeadTensor("classifier.weight", [2, 384], Weights(version), TensorDType.F32), new HeadTensor("classifier.bias", [2], [0.1f, -0.1f], TensorDType.F32)]
            : [];
        var folder = Directory.CreateTempSubdirectory("ken-soak-").FullName;
        try
        {
            var path = Path.Combine(folder, task + ".ken");
            KenDeltaWriter.Write(path, new KenDelta(metadata, [patched], heads));
            return File.ReadAllBytes(path);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static float[] Weights(int seed)
    {
        var random = new Random(seed);
        var weights = new float[2 * 384];
        for (var i = 0; i < weights.Length; i++)
        {
            weights[i] = (float)((random.NextDouble() * 2) - 1) * 0.05f;
        }

        return weights;
    }
}
