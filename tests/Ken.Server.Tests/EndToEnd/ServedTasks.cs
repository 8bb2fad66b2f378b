using Ken.Format.Checkpoints;
using Ken.Format.Deltas;

namespace Ken.Server.Tests.EndToEnd;

/// <summary>
/// Five tasks with five different weight sets, all cut from one arctic-xs-vs-minilm magnitude delta
/// (keep half of each row): each takes a different subset of its patched tensors, so no two tasks
/// share weights, and a request answered with another task's weights shows up as a wrong answer.
/// Two are classifiers with small synthetic heads.
/// </summary>
public static class ServedTasks
{
    public static IReadOnlyList<string> Texts { get; } =
    [
        "The quick brown fox jumps over the lazy dog.",
        "Ken serves many fine-tuned variants of one transformer.",
        "Café au lait, s'il vous plaît!",
        "A terrible, boring film that I would never watch again.",
        "What a wonderful day for a walk in the park",
        "gRPC runs over HTTP/2",
        "short",
        "Stocks fell sharply after the central bank raised interest rates again this quarter.",
    ];

    /// <summary>The tasks, derived from <paramref name="half"/> (arctic-xs against minilm, magnitude, keep 0.5).</summary>
    public static IReadOnlyList<KenDelta> Derive(KenDelta half, int hiddenSize)
    {
        ArgumentNullException.ThrowIfNull(half);
        return
        [
            Subset(half, "all-cls", _ => true, TaskKind.Embedding, PoolingMode.Cls, normalize: true),
            Subset(half, "attention-mean", name => name.Contains(".attention.", StringComparison.Ordinal), TaskKind.Embedding, PoolingMode.Mean, normalize: true),
            Subset(half, "embeddings-raw", name => name.StartsWith("embeddings.", StringComparison.Ordinal) || name.Contains("layer.5.", StringComparison.Ordinal), TaskKind.Embedding, PoolingMode.Cls, normalize: false),
            Subset(half, "ffn-sentiment", name => name.Contains(".intermediate.", StringComparison.Ordinal) || name.Contains(".output.dense", StringComparison.Ordinal) && !name.Contains(".attention.", StringComparison.Ordinal),
                TaskKind.Classification, PoolingMode.Cls, normalize: false, ["negative", "neutral", "positive"], hiddenSize, seed: 1),
            Subset(half, "low-topic", name => name.Contains("layer.0.", StringComparison.Ordinal) || name.Contains("layer.1.", StringComparison.Ordinal) || name.Contains("layer.2.", StringComparison.Ordinal),
                TaskKind.Classification, PoolingMode.Mean, normalize: true, ["sports", "finance"], hiddenSize, seed: 2),
        ];
    }

    /// <summary>Writes every task into <c>&lt;dataDir&gt;/tasks</c> and returns them as read back (what the server serves).</summary>
    public static IReadOnlyList<KenDelta> Seed(string dataDir, IReadOnlyList<KenDelta> deltas)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        var folder = Path.Combine(dataDir, "tasks");
        Directory.CreateDirectory(folder);
        var stored = new List<KenDelta>(deltas.Count);
        foreach (var delta in deltas)
        {
            var path = Path.Combine(folder, delta.Metadata.Task + ".ken");
            KenDeltaWriter.Write(path, delta);
            stored.Add(KenDeltaReader.Read(path));
        }

        return stored;
    }

    private static KenDelta Subset(
        KenDelta half,
        string task,
        Func<string, bool> include,
        TaskKind kind,
        PoolingMode pooling,
        bool normalize,
        IReadOnlyList<string>? labels = null,
        int hiddenSize = 0,
        int seed = 0)
    {
        var patched = half.PatchedTensors.Where(t => include(t.Name)).ToArray();
        Assert.NotEmpty(patched);
        HeadTensor[] heads = [];
        if (labels is not null)
        {
            // Small weights keep the softmax away from 0 and 1, so the scores compare meaningfully.
            var random = new Random(seed);
            var weight = new float[labels.Count * hiddenSize];
            for (var i = 0; i < weight.Length; i++)
            {
                weight[i] = (float)((random.NextDouble() * 2) - 1) * 0.05f;
            }

            var bias = new float[labels.Count];
            bias[0] = 0.1f;
            heads =
            [
                new("classifier.weight", [labels.Count, hiddenSize], weight, TensorDType.F32),
                new("classifier.bias", [labels.Count], bias, TensorDType.F32),
            ];
        }

        var metadata = half.Metadata with { Task = task, Kind = kind, Pooling = pooling, Normalize = normalize, Labels = labels ?? [] };
        return new KenDelta(metadata, patched, heads);
    }
}
