using System.Diagnostics;
using System.Globalization;
using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Onnx;
using Ken.Pruning.Pipeline;
using Ken.Runtime.Backbone;
using Ken.Runtime.Backends;
using Ken.Runtime.Patching;

namespace Ken.Perf;

/// <summary>
/// <c>ken-perf switch</c>: what a task switch (A → B, restore and apply fused, the real
/// <see cref="CpuWeightPatcher"/>) costs against one plain copy of the same weights, per budget, for
/// element-wise selection and aligned blocks. A is arctic-xs's magnitude delta over minilm, B a random
/// delta of the same budget and block size (another mask of the same density). Times are medians of
/// interleaved repetitions, so the ratios come from the same run. The switch is split by buffer layout:
/// row-major buffers (embeddings, biases, LayerNorm) hold a canonical row contiguously; the MatMul
/// weights are stored transposed (<c>[in, out]</c>) by the ONNX graph, so a canonical row is a column there.
/// </summary>
internal static class SwitchBenchmark
{
    private const int FloatsPerLine = 16;

    public static int Run(string[] args)
    {
        var reps = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 15;
        // A block size alone follows the stored layout (--block-layout serving); with an "r" after it, canonical rows.
        var blocks = (args.Length > 1 ? args[1] : "1,16r,16").Split(',');
        double[] keeps = [0.05, 0.1, 0.25, 0.5];
        var minilm = DefaultModels.Get("minilm");
        using var backend = PatchingBackend.Load(new BackboneOptions
        {
            ModelPath = minilm.ModelPath,
            VocabPath = minilm.VocabPath,
            Name = "minilm",
            Slots = 1,
            MaxBatchSize = 1,
            MaxSequenceLength = 16,
        });
        using var baseCheckpoint = OnnxCheckpoint.Open(minilm.ModelPath);
        using var finetuned = OnnxCheckpoint.Open(DefaultModels.Get("arctic-xs").ModelPath);
        var patcher = new CpuWeightPatcher();
        var slot = backend.SlotWeights(0);
        var pristine = backend.Pristine;
        using var spare = new WeightSet(Enumerable.Range(0, pristine.Count).Select(i => (long)pristine.Length(i)).ToArray());
        var transposed = backend.Tensors.Where(t => t.Mapping.Transposed).Select(t => t.Index).ToHashSet();
        long allLines = 0;
        for (var i = 0; i < pristine.Count; i++)
        {
            allLines += (pristine.Length(i) + FloatsPerLine - 1) / FloatsPerLine;
        }

        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"ken-perf switch: minilm weights ({pristine.TotalBytes / 1e6:F1} MB), arctic-xs deltas, {Environment.ProcessorCount} cores, CpuWeightPatcher, median of {reps} interleaved reps"));
        Console.WriteLine();
        Console.WriteLine("| keep | block | lines touched (A∪B) | switch A↔B ms | full copy ms | switch / copy | row-major part: switch / copy | transposed part: switch / copy |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var keep in keeps)
        {
            foreach (var blockText in blocks)
            {
                var rows = blockText.EndsWith('r');
                var block = int.Parse(rows ? blockText[..^1] : blockText, CultureInfo.InvariantCulture);
                var layout = rows ? Ken.Pruning.Selection.BlockLayout.Rows : Ken.Pruning.Selection.BlockLayout.Serving;
                var a = Bind(backend, baseCheckpoint, finetuned, keep, "magnitude", block, layout);
                var b = Bind(backend, baseCheckpoint, finetuned, keep, "random", block, layout);
                var (aRow, aCol) = Split(a, transposed);
                var (bRow, bCol) = Split(b, transposed);
                double lines = (double)TouchedLines(a, b) / allLines;
                var whole = Measure(patcher, slot, pristine, a, b, AllTensors(pristine), spare, reps);
                var rowMajor = Measure(patcher, slot, pristine, aRow, bRow, Indices(pristine, i => !transposed.Contains(i)), spare, reps);
                var columns = Measure(patcher, slot, pristine, aCol, bCol, Indices(pristine, transposed.Contains), spare, reps);
                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"| {keep} | {(block == 1 ? "1" : rows ? $"{block} rows" : $"{block} serving")} | {lines:P1} | {whole.Switch:F2} | {whole.Copy:F2} | {whole.Switch / whole.Copy:F3}x | {rowMajor.Switch / rowMajor.Copy:F3}x | {columns.Switch / columns.Copy:F3}x |"));
            }
        }

        return 0;
    }

    private static PatchSet Bind(PatchingBackend backend, ICheckpoint baseModel, ICheckpoint finetuned, double keep, string method, int block, Ken.Pruning.Selection.BlockLayout layout)
    {
        var delta = DeltaBuilder.Build(baseModel, finetuned, new PruneOptions
        {
            Budget = PruneBudget.Fraction(keep),
            Method = method,
            Block = block,
            BlockLayout = layout,
            Seed = 1,
            Kind = "embedding",
            Pooling = "cls",
            Normalize = true,
        });
        return backend.Bind(delta).Patches;
    }

    private static (PatchSet RowMajor, PatchSet Transposed) Split(PatchSet set, HashSet<int> transposed) =>
        (new PatchSet(set.Patches.Where(p => !transposed.Contains(p.TensorIndex)).ToList()),
         new PatchSet(set.Patches.Where(p => transposed.Contains(p.TensorIndex)).ToList()));

    private static int[] AllTensors(WeightSet set) => Enumerable.Range(0, set.Count).ToArray();

    private static int[] Indices(WeightSet set, Func<int, bool> keep) => Enumerable.Range(0, set.Count).Where(keep).ToArray();

    /// <summary>64-byte lines of the weight set that hold a position of A or B (what a switch must touch).</summary>
    private static long TouchedLines(PatchSet a, PatchSet b)
    {
        var masks = new Dictionary<int, byte[]>();
        foreach (var p in a.Patches.Concat(b.Patches))
        {
            if (!masks.TryGetValue(p.TensorIndex, out var merged))
            {
                masks[p.TensorIndex] = merged = new byte[p.Mask.Length];
            }

            for (var i = 0; i < merged.Length; i++)
            {
                merged[i] |= p.Mask[i];
            }
        }

        long lines = 0;
        foreach (var mask in masks.Values)
        {
            for (var i = 0; i < mask.Length; i += 2)
            {
                if (mask[i] != 0 || (i + 1 < mask.Length && mask[i + 1] != 0))
                {
                    lines++;
                }
            }
        }

        return lines;
    }

    /// <summary>Median A→B / B→A switch and median copy of the given tensors, interleaved.</summary>
    private static (double Switch, double Copy) Measure(CpuWeightPatcher patcher, WeightSet slot, WeightSet pristine, PatchSet a, PatchSet b, int[] tensors, WeightSet spare, int reps)
    {
        slot.CopyFrom(pristine);
        patcher.Apply(slot, a);
        patcher.Replace(slot, pristine, a, b);
        patcher.Replace(slot, pristine, b, a);
        var switches = new double[reps];
        var copies = new double[reps];
        for (var r = 0; r < reps; r++)
        {
            var start = Stopwatch.GetTimestamp();
            patcher.Replace(slot, pristine, a, b);
            var ab = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            start = Stopwatch.GetTimestamp();
            patcher.Replace(slot, pristine, b, a);
            switches[r] = (ab + Stopwatch.GetElapsedTime(start).TotalMilliseconds) / 2;

            // The plain copy a switch competes with: the same buffers, pristine into a spare set of them.
            start = Stopwatch.GetTimestamp();
            CopyTensors(pristine, spare, tensors);
            copies[r] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        patcher.Restore(slot, pristine, a);
        return (Median(switches), Median(copies));
    }

    private static void CopyTensors(WeightSet from, WeightSet to, int[] tensors)
    {
        // As parallel as the patcher: one tensor per worker.
        Parallel.ForEach(tensors, i => from.Tensor(i).CopyTo(to.Tensor(i)));
    }

    private static double Median(double[] values)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        return sorted[sorted.Length / 2];
    }
}
