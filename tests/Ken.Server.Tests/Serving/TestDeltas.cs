using System.Security.Cryptography;

using Ken.Format.Deltas;

namespace Ken.Server.Tests.Serving;

/// <summary>Small hand-made .ken files: metadata only, which is all <see cref="FakeBackend"/> binds.</summary>
public static class TestDeltas
{
    public static readonly string[] Labels = ["negative", "neutral", "positive"];

    public static string Write(string folder, string task, TaskKind kind, bool mismatch = false)
    {
        var path = Path.Combine(folder, task + ".ken");
        var extra = new Dictionary<string, string>();
        if (mismatch)
        {
            extra[FakeBackend.MismatchKey] = "true";
        }

        var metadata = new KenDeltaMetadata
        {
            Task = task,
            Kind = kind,
            Labels = kind == TaskKind.Classification ? Labels : [],
            Pooling = PoolingMode.Mean,
            K = 4,
            Method = "ken",
            CreatedBy = "ken-tests",
            Extra = extra,
        };
        KenDeltaWriter.Write(path, new KenDelta(metadata, [], []));
        return path;
    }

    public static byte[] Bytes(string task, TaskKind kind, bool mismatch = false)
    {
        var folder = Directory.CreateTempSubdirectory("ken-delta-").FullName;
        try
        {
            return File.ReadAllBytes(Write(folder, task, kind, mismatch));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
