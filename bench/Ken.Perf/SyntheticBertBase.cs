using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Safetensors;

namespace Ken.Perf;

/// <summary>
/// A synthetic base/fine-tuned pair with the tensor names and shapes of bert-base-uncased
/// (about 110M parameters): base weights ~ N(0, 0.04), fine-tuned = base + N(0, 0.002) on every
/// tensor, plus a 2-label classifier head and a config.json, as a fine-tuned classifier folder.
/// </summary>
internal static class SyntheticBertBase
{
    private const int Hidden = 768;
    private const int Intermediate = 3072;
    private const int Layers = 12;

    public static IReadOnlyList<(string Name, long[] Shape)> Shapes()
    {
        var shapes = new List<(string, long[])>
        {
            ("embeddings.word_embeddings.weight", [30522, Hidden]),
            ("embeddings.position_embeddings.weight", [512, Hidden]),
            ("embeddings.token_type_embeddings.weight", [2, Hidden]),
            ("embeddings.LayerNorm.weight", [Hidden]),
            ("embeddings.LayerNorm.bias", [Hidden]),
        };
        for (int l = 0; l < Layers; l++)
        {
            string p = $"encoder.layer.{l}.";
            foreach (var m in new[] { "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense" })
            {
                shapes.Add((p + m + ".weight", [Hidden, Hidden]));
                shapes.Add((p + m + ".bias", [Hidden]));
            }

            shapes.Add((p + "attention.output.LayerNorm.weight", [Hidden]));
            shapes.Add((p + "attention.output.LayerNorm.bias", [Hidden]));
            shapes.Add((p + "intermediate.dense.weight", [Intermediate, Hidden]));
            shapes.Add((p + "intermediate.dense.bias", [Intermediate]));
            shapes.Add((p + "output.dense.weight", [Hidden, Intermediate]));
            shapes.Add((p + "output.dense.bias", [Hidden]));
            shapes.Add((p + "output.LayerNorm.weight", [Hidden]));
            shapes.Add((p + "output.LayerNorm.bias", [Hidden]));
        }

        shapes.Add(("pooler.dense.weight", [Hidden, Hidden]));
        shapes.Add(("pooler.dense.bias", [Hidden]));
        return shapes;
    }

    public static void WritePair(string outDir, int seed)
    {
        Directory.CreateDirectory(outDir);
        string ftDir = Path.Combine(outDir, "finetuned");
        Directory.CreateDirectory(ftDir);
        var shapes = Shapes();
        var baseDecl = new List<SafetensorsDeclaration>();
        var ftDecl = new List<SafetensorsDeclaration>();
        foreach (var (name, shape) in shapes)
        {
            baseDecl.Add(new SafetensorsDeclaration(name, TensorDType.F32, shape));
            ftDecl.Add(new SafetensorsDeclaration("bert." + name, TensorDType.F32, shape));
        }

        ftDecl.Add(new SafetensorsDeclaration("classifier.weight", TensorDType.F32, [2, Hidden]));
        ftDecl.Add(new SafetensorsDeclaration("classifier.bias", TensorDType.F32, [2]));

        using (var baseStream = File.Create(Path.Combine(outDir, "base.safetensors")))
        using (var ftStream = File.Create(Path.Combine(ftDir, "model.safetensors")))
        {
            var baseWriter = new SafetensorsWriter(baseStream, baseDecl);
            var ftWriter = new SafetensorsWriter(ftStream, ftDecl);
            var rng = new Normal((ulong)seed);
            foreach (var (name, shape) in shapes)
            {
                long numel = 1;
                foreach (var d in shape)
                {
                    numel *= d;
                }

                var b = new float[numel];
                var f = new float[numel];
                for (long i = 0; i < numel; i++)
                {
                    b[i] = 0.04f * rng.Next();
                    f[i] = b[i] + (0.002f * rng.Next());
                }

                baseWriter.WriteEntry(name, (ReadOnlySpan<float>)b);
                ftWriter.WriteEntry("bert." + name, (ReadOnlySpan<float>)f);
            }

            var head = new float[2 * Hidden];
            for (int i = 0; i < head.Length; i++)
            {
                head[i] = 0.02f * rng.Next();
            }

            ftWriter.WriteEntry("classifier.weight", (ReadOnlySpan<float>)head);
            ftWriter.WriteEntry("classifier.bias", (ReadOnlySpan<float>)new float[2]);
            baseWriter.Complete();
            ftWriter.Complete();
        }

        File.WriteAllText(
            Path.Combine(ftDir, "config.json"),
            """{"architectures": ["BertForSequenceClassification"], "hidden_size": 768, "id2label": {"0": "negative", "1": "positive"}}""");
    }

    /// <summary>Standard normal samples (Box-Muller over SplitMix64): fast and reproducible.</summary>
    private sealed class Normal(ulong seed)
    {
        private ulong state = seed;
        private float spare;
        private bool hasSpare;

        public float Next()
        {
            if (hasSpare)
            {
                hasSpare = false;
                return spare;
            }

            double u1 = (NextUInt64() >> 11) * (1.0 / (1UL << 53));
            double u2 = (NextUInt64() >> 11) * (1.0 / (1UL << 53));
            double r = Math.Sqrt(-2.0 * Math.Log(1.0 - u1));
            double t = 2.0 * Math.PI * u2;
            spare = (float)(r * Math.Sin(t));
            hasSpare = true;
            return (float)(r * Math.Cos(t));
        }

        private ulong NextUInt64()
        {
            ulong z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
