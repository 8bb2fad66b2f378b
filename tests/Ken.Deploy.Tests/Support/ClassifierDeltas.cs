using Ken.Format.Checkpoints;
using Ken.Format.Deltas;

namespace Ken.Deploy.Tests.Support;

/// <summary>
/// Classification tasks for minilm without a fine-tuned classifier on disk: the encoder patches of a
/// real <c>ken prune</c> delta (arctic-xs against minilm) with a small synthetic head per task, each
/// seeded differently, so two tasks give different scores for the same text and an answer from the
/// wrong task shows.
/// </summary>
internal static class ClassifierDeltas
{
    private static readonly string[] Labels = ["north", "east", "south", "west"];

    /// <summary>Writes <paramref name="names"/>.ken into <paramref name="folder"/> from the embedding delta at <paramref name="prunedPath"/>.</summary>
    public static IReadOnlyDictionary<string, string> Write(string prunedPath, string folder, IReadOnlyList<string> names, int hiddenSize = 384)
    {
        var pruned = KenDeltaReader.Read(prunedPath);
        var paths = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int t = 0; t < names.Count; t++)
        {
            var random = new Random(1000 + t);
            var weight = new float[Labels.Length * hiddenSize];
            for (int i = 0; i < weight.Length; i++)
            {
                // Small weights keep the softmax away from 0 and 1, so scores differ between tasks.
                weight[i] = (float)((random.NextDouble() * 2) - 1) * 0.1f;
            }

            var bias = new float[Labels.Length];
            HeadTensor[] heads =
            [
                new("classifier.weight", [Labels.Length, hiddenSize], weight, TensorDType.F32),
                new("classifier.bias", [Labels.Length], bias, TensorDType.F32),
            ];
            var metadata = pruned.Metadata with { Task = names[t], Kind = TaskKind.Classification, Pooling = PoolingMode.Cls, Normalize = false, Labels = Labels };
            string path = Path.Combine(folder, names[t] + ".ken");
            KenDeltaWriter.Write(path, new KenDelta(metadata, pruned.PatchedTensors, heads));
            paths[names[t]] = path;
        }

        return paths;
    }
}
