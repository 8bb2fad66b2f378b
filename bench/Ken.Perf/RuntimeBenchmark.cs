using System.Diagnostics;
using System.Globalization;
using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Onnx;
using Ken.Pruning.Pipeline;
using Ken.Runtime.Backbone;
using Ken.Runtime.Backends;
using Ken.Runtime.Tokenization;
using Microsoft.ML.OnnxRuntime;

namespace Ken.Perf;

/// <summary>
/// <c>ken-perf runtime</c>: on minilm, side by side in one process, what binding the weights as graph
/// inputs costs against the original model, and what a swap costs against a full weight copy and a run.
/// </summary>
internal static class RuntimeBenchmark
{
    private const int SequenceLength = 128;

    public static int Run(string[] args)
    {
        var iterations = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
        var minilm = DefaultModels.Get("minilm");
        var arctic = DefaultModels.Get("arctic-xs");
        var rows = new List<(string Metric, string Value)>();

        var start = Stopwatch.GetTimestamp();
        using var backend = PatchingBackend.Load(new BackboneOptions
        {
            ModelPath = minilm.ModelPath,
            VocabPath = minilm.VocabPath,
            Name = "minilm",
            Slots = 2,
            MaxBatchSize = 32,
            MaxSequenceLength = SequenceLength,
        });
        var backendStartup = Stopwatch.GetElapsedTime(start);

        start = Stopwatch.GetTimestamp();
        using var original = new InferenceSession(minilm.ModelPath);
        var originalStartup = Stopwatch.GetElapsedTime(start);
        rows.Add(("start-up: Ken backbone (2 slots) / original session, ms", $"{Ms(backendStartup)} / {Ms(originalStartup)}"));

        // The original model with MLAS weight prepacking off: the floor for any graph whose weights are
        // inputs, since ONNX Runtime prepacks only constant initializers (see `ken-perf runtime-cause`).
        using var unpackedOptions = new SessionOptions();
        unpackedOptions.AddSessionConfigEntry("session.disable_prepacking", "1");
        using var unpacked = new InferenceSession(minilm.ModelPath, unpackedOptions);

        // 126 one-token words + [CLS] + [SEP] = exactly 128 tokens per text.
        var text = string.Join(' ', Enumerable.Repeat("word", SequenceLength - 2));
        var tokenizer = BertTextTokenizer.Load(minilm.VocabPath, SequenceLength, 32);
        double batch32Ms = 0;
        foreach (var batchSize in (int[])[8, 32])
        {
            var texts = Enumerable.Repeat(text, batchSize).ToArray();
            backend.RunRaw(0, texts);
            RunOriginal(original, tokenizer, texts);
            RunOriginal(unpacked, tokenizer, texts);
            var bound = new RunTimes();
            var plain = new RunTimes();
            var noPrepacking = new RunTimes();

            // Interleaved so that noise from other jobs on the machine hits every side alike.
            for (var i = 0; i < iterations; i++)
            {
                start = Stopwatch.GetTimestamp();
                backend.RunRaw(0, texts);
                bound.Add(Stopwatch.GetElapsedTime(start), iterations);
                start = Stopwatch.GetTimestamp();
                RunOriginal(original, tokenizer, texts);
                plain.Add(Stopwatch.GetElapsedTime(start), iterations);
                start = Stopwatch.GetTimestamp();
                RunOriginal(unpacked, tokenizer, texts);
                noPrepacking.Add(Stopwatch.GetElapsedTime(start), iterations);
            }

            if (batchSize == 32)
            {
                batch32Ms = bound.Mean;
            }

            rows.Add((
                $"inference batch {batchSize} x {SequenceLength}: weights bound as inputs / original model, ms, best of {iterations} (ratio); mean (ratio)",
                $"{bound.Best:F1} / {plain.Best:F1} ({bound.Best / plain.Best:F2}x); {bound.Mean:F1} / {plain.Mean:F1} ({bound.Mean / plain.Mean:F2}x)"));
            rows.Add((
                $"inference batch {batchSize} x {SequenceLength}: original model with MLAS prepacking off / original model, ms, best (ratio)",
                $"{noPrepacking.Best:F1} / {plain.Best:F1} ({noPrepacking.Best / plain.Best:F2}x)"));
        }

        using var minilmCheckpoint = OnnxCheckpoint.Open(minilm.ModelPath);
        using var arcticCheckpoint = OnnxCheckpoint.Open(arctic.ModelPath);
        var delta = DeltaBuilder.Build(minilmCheckpoint, arcticCheckpoint, new PruneOptions
        {
            Budget = PruneBudget.Fraction(0.5),
            Method = "magnitude",
            Kind = "embedding",
            Pooling = "cls",
            Normalize = true,
        });
        var task = backend.Bind(delta);

        // A second task with another mask of the same density, for task-to-task switches.
        var other = backend.Bind(DeltaBuilder.Build(minilmCheckpoint, arcticCheckpoint, new PruneOptions
        {
            Budget = PruneBudget.Fraction(0.5),
            Method = "random",
            Seed = 1,
            Kind = "embedding",
            Pooling = "cls",
            Normalize = true,
        }));
        backend.Swap(1, task);
        backend.Swap(1, null);
        double swap = 0, restore = 0, apply = 0, copy = 0, switchMs = 0;
        long values = 0;
        var swapIterations = Math.Max(iterations * 2, 10);
        backend.Swap(1, task);
        for (var i = 0; i < swapIterations; i++)
        {
            var restored = backend.Swap(1, null);
            var applied = backend.Swap(1, task);
            restore += restored.Restore.TotalMilliseconds;
            apply += applied.Apply.TotalMilliseconds;
            swap += restored.Total.TotalMilliseconds + applied.Total.TotalMilliseconds;
            values = applied.ValuesApplied;
            switchMs += (backend.Swap(1, other).Total.TotalMilliseconds + backend.Swap(1, task).Total.TotalMilliseconds) / 2;

            start = Stopwatch.GetTimestamp();
            backend.SlotWeights(0).CopyFrom(backend.Pristine);
            copy += Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        backend.Swap(1, null);
        swap /= swapIterations;
        restore /= swapIterations;
        apply /= swapIterations;
        copy /= swapIterations;
        switchMs /= swapIterations;
        rows.Add(($"task → base → task, arctic-xs keep 0.5 ({values:N0} values): restore + apply, ms", $"{restore:F2} + {apply:F2} = {swap:F2}"));
        rows.Add(("task A → task B (both keep 0.5, restore and apply fused), ms", $"{switchMs:F2}"));
        rows.Add(("full copy of all backbone weights once, ms", $"{copy:F2}"));
        rows.Add(("task switch / full copy; restore + apply / full copy", $"{switchMs / copy:F2}x; {swap / copy:F2}x"));
        rows.Add(("task switch as a fraction of one batch-32 run", $"{switchMs / batch32Ms:P1}"));
        rows.Add(("resident bytes per slot (weights)", $"{backend.SlotBytes:N0}"));
        rows.Add(("resident bytes of the bound task (masks + values + head)", $"{task.ResidentBytes:N0}"));

        Console.WriteLine($"ken-perf runtime: minilm, {Environment.ProcessorCount} cores, ONNX Runtime CPU, {iterations} timed runs per inference row, {swapIterations} swaps");
        Console.WriteLine();
        Console.WriteLine("| measure | value |");
        Console.WriteLine("|---|---|");
        foreach (var (metric, value) in rows)
        {
            Console.WriteLine($"| {metric} | {value} |");
        }

        return 0;
    }

    private static void RunOriginal(InferenceSession session, BertTextTokenizer tokenizer, string[] texts)
    {
        var batch = tokenizer.CreateBatch();
        tokenizer.Tokenize(texts, batch);
        long[] shape = [batch.BatchSize, batch.SequenceLength];
        using var ids = OrtValue.CreateTensorValueFromMemory(batch.InputIds.ToArray(), shape);
        using var mask = OrtValue.CreateTensorValueFromMemory(batch.AttentionMask.ToArray(), shape);
        using var types = OrtValue.CreateTensorValueFromMemory(batch.TokenTypeIds.ToArray(), shape);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, ["input_ids", "attention_mask", "token_type_ids"], [ids, mask, types], ["last_hidden_state"]);
    }

    /// <summary>Best and mean of one side's interleaved runs.</summary>
    private sealed class RunTimes
    {
        public double Best { get; private set; } = double.PositiveInfinity;

        public double Mean { get; private set; }

        public void Add(TimeSpan elapsed, int count)
        {
            var ms = elapsed.TotalMilliseconds;
            Best = Math.Min(Best, ms);
            Mean += ms / count;
        }
    }

    private static string Ms(TimeSpan time) => time.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture);
}
