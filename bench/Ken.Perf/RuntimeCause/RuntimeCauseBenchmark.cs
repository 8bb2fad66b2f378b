using System.Globalization;
using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Onnx;
using Ken.Runtime.Backbone;
using Ken.Runtime.Tokenization;
using Microsoft.ML.OnnxRuntime;

namespace Ken.Perf.RuntimeCause;

/// <summary>
/// <c>ken-perf runtime-cause</c>: why minilm with its weights bound as graph inputs runs slower than the
/// original model. Counts the node types of the graphs ONNX Runtime optimizes from each, times both at
/// every optimization level and the original with MLAS weight prepacking switched off (interleaved,
/// best of N), and splits the time by op type with ONNX Runtime's profiler.
/// </summary>
internal static class RuntimeCauseBenchmark
{
    private const int SequenceLength = 128;

    private static readonly (string Name, GraphOptimizationLevel Level)[] Levels =
    [
        ("BASIC", GraphOptimizationLevel.ORT_ENABLE_BASIC),
        ("EXTENDED", GraphOptimizationLevel.ORT_ENABLE_EXTENDED),
        ("ALL", GraphOptimizationLevel.ORT_ENABLE_ALL),
    ];

    public static int Run(string[] args)
    {
        var iterations = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
        EncoderVariant.IntraOpThreads = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : null;
        var minilm = DefaultModels.Get("minilm");
        using var checkpoint = OnnxCheckpoint.Open(minilm.ModelPath);
        var (tensors, pristine) = BackboneWeights.Read(checkpoint);
        using var weightSet = pristine;
        var onnxNames = Array.ConvertAll(tensors, t => t.Mapping.OnnxName);
        var models = new Models(File.ReadAllBytes(minilm.ModelPath), OnnxModelRewriter.PromoteInitializersToInputs(checkpoint, onnxNames));
        using var weights = new WeightBinding(tensors, pristine, ownsWeights: false);
        var tokenizer = BertTextTokenizer.Load(minilm.VocabPath, SequenceLength, 32);
        var work = Directory.CreateTempSubdirectory("ken-runtime-cause-");
        try
        {
            Console.WriteLine($"ken-perf runtime-cause: minilm, {Environment.ProcessorCount} cores, ONNX Runtime CPU, intra-op threads {EncoderVariant.IntraOpThreads?.ToString(CultureInfo.InvariantCulture) ?? "default"}, {iterations} interleaved runs per variant");
            PrintCensus(models, weights, work.FullName);
            PrintTimings(models, weights, tokenizer, iterations);
            PrintProfile(models, weights, tokenizer, iterations, work.FullName);
        }
        finally
        {
            work.Delete(recursive: true);
        }

        return 0;
    }

    private static void PrintCensus(Models models, WeightBinding weights, string folder)
    {
        var censuses = new List<GraphCensus>();
        foreach (var (name, level) in Levels)
        {
            foreach (var bound in (bool[])[false, true])
            {
                var path = Path.Combine(folder, $"{name}-{(bound ? "bound" : "original")}.onnx");
                using (EncoderVariant.Create(name, bound ? models.Promoted : models.Original, level, prepacking: true, bound ? weights : null, optimizedModelPath: path))
                {
                }

                censuses.Add(GraphCensus.Read(path));
            }
        }

        var ops = censuses.SelectMany(c => c.OpCounts.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        Console.WriteLine();
        Console.WriteLine("Nodes of the graph ONNX Runtime optimized (SessionOptions.OptimizedModelFilePath), original / bound:");
        Console.WriteLine();
        Console.WriteLine("| op | " + string.Join(" | ", Levels.Select(l => l.Name)) + " |");
        Console.WriteLine("|---|" + string.Concat(Levels.Select(_ => "---:|")));
        foreach (var op in ops)
        {
            Console.WriteLine($"| {op} | " + string.Join(" | ", Pairs(censuses, c => c.OpCounts.GetValueOrDefault(op))) + " |");
        }

        Console.WriteLine("| all nodes | " + string.Join(" | ", Pairs(censuses, c => c.Nodes)) + " |");
        Console.WriteLine("| initializers | " + string.Join(" | ", Pairs(censuses, c => c.Initializers)) + " |");
        Console.WriteLine("| graph inputs | " + string.Join(" | ", Pairs(censuses, c => c.Inputs)) + " |");
    }

    private static IEnumerable<string> Pairs(List<GraphCensus> censuses, Func<GraphCensus, int> value)
    {
        for (var i = 0; i < censuses.Count; i += 2)
        {
            yield return $"{value(censuses[i])} / {value(censuses[i + 1])}";
        }
    }

    private static void PrintTimings(Models models, WeightBinding weights, BertTextTokenizer tokenizer, int iterations)
    {
        var variants = new List<EncoderVariant>();
        try
        {
            foreach (var (name, level) in Levels.Reverse())
            {
                variants.Add(EncoderVariant.Create($"original, {name}", models.Original, level, prepacking: true, null));
                variants.Add(EncoderVariant.Create($"bound, {name}", models.Promoted, level, prepacking: true, weights));
            }

            variants.Add(EncoderVariant.Create("original, ALL, prepacking off", models.Original, GraphOptimizationLevel.ORT_ENABLE_ALL, prepacking: false, null));
            var results = new Dictionary<int, (double[] Best, double[] Mean)>();
            foreach (var batchSize in (int[])[8, 32])
            {
                results[batchSize] = Time(variants, Batch(tokenizer, batchSize), iterations);
            }

            Console.WriteLine();
            Console.WriteLine($"Inference x {SequenceLength} tokens, ms: best of {iterations} (x original ALL), mean:");
            Console.WriteLine();
            Console.WriteLine("| variant | batch 8 best | batch 8 mean | batch 32 best | batch 32 mean |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            for (var v = 0; v < variants.Count; v++)
            {
                var (best8, mean8) = results[8];
                var (best32, mean32) = results[32];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {variants[v].Name} | {best8[v]:F1} ({best8[v] / best8[0]:F3}x) | {mean8[v]:F1} | {best32[v]:F1} ({best32[v] / best32[0]:F3}x) | {mean32[v]:F1} |"));
            }
        }
        finally
        {
            variants.ForEach(v => v.Dispose());
        }
    }

    private static void PrintProfile(Models models, WeightBinding weights, BertTextTokenizer tokenizer, int iterations, string folder)
    {
        var variants = new List<EncoderVariant>();
        var summaries = new List<Dictionary<string, double>>();
        try
        {
            variants.Add(EncoderVariant.Create("original, ALL", models.Original, GraphOptimizationLevel.ORT_ENABLE_ALL, true, null, profilePrefix: Path.Combine(folder, "original")));
            variants.Add(EncoderVariant.Create("bound, ALL", models.Promoted, GraphOptimizationLevel.ORT_ENABLE_ALL, true, weights, profilePrefix: Path.Combine(folder, "bound")));
            variants.Add(EncoderVariant.Create(
                "original, ALL, prepacking off", models.Original, GraphOptimizationLevel.ORT_ENABLE_ALL, false, null, profilePrefix: Path.Combine(folder, "unpacked")));
            Time(variants, Batch(tokenizer, 8), iterations);
            foreach (var variant in variants)
            {
                summaries.Add(ProfileSummary.Read(variant.EndProfiling()));
            }
        }
        finally
        {
            variants.ForEach(v => v.Dispose());
        }

        Console.WriteLine();
        Console.WriteLine($"Kernel time per op type, batch 8 x {SequenceLength}, ms (ONNX Runtime profiler; each node's fastest of {iterations + 1} runs, summed):");
        Console.WriteLine();
        Console.WriteLine("| op | original, ALL | bound, ALL | original, ALL, prepacking off |");
        Console.WriteLine("|---|---:|---:|---:|");
        var ops = summaries.SelectMany(s => s.Keys).Distinct(StringComparer.Ordinal).OrderByDescending(op => summaries[0].GetValueOrDefault(op)).ToList();
        foreach (var op in ops)
        {
            if (summaries.TrueForAll(s => s.GetValueOrDefault(op) < 0.05))
            {
                continue;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {op} | {summaries[0].GetValueOrDefault(op):F1} | {summaries[1].GetValueOrDefault(op):F1} | {summaries[2].GetValueOrDefault(op):F1} |"));
        }

        var totals = summaries.ConvertAll(s => s.Values.Sum());
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| all kernels | {totals[0]:F1} | {totals[1]:F1} ({totals[1] / totals[0]:F3}x) | {totals[2]:F1} ({totals[2] / totals[0]:F3}x) |"));
    }

    /// <summary>Warms every variant up once, then runs them interleaved so that noise from other jobs hits all alike.</summary>
    private static (double[] Best, double[] Mean) Time(List<EncoderVariant> variants, TokenizedBatch batch, int iterations)
    {
        var best = new double[variants.Count];
        var mean = new double[variants.Count];
        Array.Fill(best, double.PositiveInfinity);
        variants.ForEach(v => v.Run(batch));
        for (var i = 0; i < iterations; i++)
        {
            for (var v = 0; v < variants.Count; v++)
            {
                var ms = variants[v].Run(batch).TotalMilliseconds;
                best[v] = Math.Min(best[v], ms);
                mean[v] += ms / iterations;
            }
        }

        return (best, mean);
    }

    private static TokenizedBatch Batch(BertTextTokenizer tokenizer, int batchSize)
    {
        // 126 one-token words + [CLS] + [SEP] = exactly 128 tokens per text.
        var text = string.Join(' ', Enumerable.Repeat("word", SequenceLength - 2));
        var batch = tokenizer.CreateBatch();
        tokenizer.Tokenize(Enumerable.Repeat(text, batchSize).ToArray(), batch);
        return batch;
    }

    private sealed record Models(byte[] Original, byte[] Promoted);
}
