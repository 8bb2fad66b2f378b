using System.Diagnostics;
using System.Globalization;
using Ken.Format;
using Ken.Format.Checkpoints;
using Ken.Format.Deltas;
using Ken.Pruning.Pipeline;
using Ken.Pruning.Selection;
using Ken.Runtime.Backbone;
using Ken.Runtime.Backends;

namespace Ken.Evaluation;

/// <summary>
/// Measures what pruning costs on a user's own task. Every model is served in-process through the
/// same <see cref="PatchingBackend"/> the server uses: the dense fine-tuned model as a delta that keeps
/// every value (exactly the fine-tuned weights), then each budget × method as the delta a user would
/// register, written to a <c>.ken</c> file and read back.
/// </summary>
public static class TaskEvaluator
{
    public static EvalReport Run(
        EvalOptions options,
        IReadOnlyList<EvalExample> examples,
        IProgress<EvalProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0)
        {
            throw new KenException("no examples to evaluate; the data file must hold at least one row.");
        }

        var variants = Variants(options);
        var backbone = ResolveBackbone(options);
        using var baseModel = CheckpointLoader.Open(options.BaseModel);
        using var finetuned = CheckpointLoader.Open(options.Finetuned);
        int? trainingLength = options.MaxSequenceLength ?? TrainingLength.Of(finetuned.ConfigJson);
        int maxSequence = trainingLength ?? 0;
        if (maxSequence > 0)
        {
            backbone = backbone with { MaxSequenceLength = maxSequence };
        }

        string temp = Path.Combine(Path.GetTempPath(), "ken-eval-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(temp);
        try
        {
            int steps = 1 + (options.Budgets.Count * variants.Count * (options.Recover is null ? 1 : 2));
            var texts = new string[examples.Count];
            for (int i = 0; i < texts.Length; i++)
            {
                texts[i] = examples[i].Text;
            }

            var denseStep = new Step(progress, "dense: prune", 0, steps);
            var dense = Build(baseModel, finetuned, options, PruneBudget.Fraction(1.0), "magnitude", 1, Path.Combine(temp, "dense"), denseStep, cancellationToken);
            var metadata = dense.Delta.Metadata;
            int[]? gold = metadata.Kind == TaskKind.Classification ? GoldLabels(examples, metadata.Labels) : null;

            using var backend = PatchingBackend.Load(backbone);
            var denseOutput = Serve(backend, dense.Delta, texts, denseStep.Named("dense: run"), cancellationToken);
            var results = new List<EvalResult>
            {
                Score(dense, denseOutput, denseOutput, gold, metadata.Labels.Count, new ReconstructionError(), 0),
            };

            int stepIndex = 1;
            foreach (var budget in options.Budgets)
            {
                foreach (var (method, block, label) in variants)
                {
                    string name = $"{label} {budget}";
                    var step = new Step(progress, name + ": prune", stepIndex++, steps);
                    var pruned = Build(baseModel, finetuned, options, budget, method, block, Path.Combine(temp, "delta"), step, cancellationToken);
                    var error = ReconstructionError.Measure(pruned.Delta, dense.Delta, tensorName =>
                    {
                        var weights = new float[baseModel.TryGetInfo(tensorName, out var info) ? info.ElementCount : 0];
                        baseModel.ReadFloat32(tensorName, weights);
                        return weights;
                    });
                    var watch = Stopwatch.StartNew();
                    var output = Serve(backend, pruned.Delta, texts, step.Named(name + ": run"), cancellationToken);
                    results.Add(Score(pruned, output, denseOutput, gold, metadata.Labels.Count, error, watch.Elapsed.TotalSeconds) with { Method = label, Block = block });
                    if (options.Recover is { } recover)
                    {
                        var recoverStep = new Step(progress, name + ": recover", stepIndex++, steps);
                        var recovering = Stopwatch.StartNew();
                        var recovered = pruned with { Delta = recover(pruned.Delta, baseModel, trainingLength, recoverStep.Report, cancellationToken) };
                        // Recovery changes kept values, never the masks, and the error depends only on the masks.
                        var recoveredOutput = Serve(backend, recovered.Delta, texts, recoverStep.Named(name + "+rec: run"), cancellationToken);
                        results.Add(Score(recovered, recoveredOutput, denseOutput, gold, metadata.Labels.Count, error, recovering.Elapsed.TotalSeconds) with { Method = label + "+rec", Block = block });
                    }
                }
            }

            return new EvalReport
            {
                BaseModel = options.BaseModel,
                Finetuned = options.Finetuned,
                Kind = metadata.Kind,
                Labels = metadata.Labels,
                Examples = examples.Count,
                MaxSequenceLength = backend.MaxSequenceLength,
                Seed = options.Seed,
                Results = results,
            };
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    /// <summary>
    /// The deltas to build per budget, in report order: every method element-wise and, with a block
    /// size above 1, each block-capable method again in blocks right after it (labelled <c>magnitude-b16</c>).
    /// </summary>
    public static IReadOnlyList<(string Method, int Block, string Label)> Variants(EvalOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var variants = new List<(string, int, string)>();
        foreach (var method in options.Methods)
        {
            variants.Add((method, 1, method));
            if (options.Block > 1 && RowSelectors.BlockMethods.Contains(method))
            {
                variants.Add((method, options.Block, string.Create(CultureInfo.InvariantCulture, $"{method}-b{options.Block}")));
            }
        }

        if (options.Block > 1 && variants.Count == options.Methods.Count)
        {
            throw new KenException(
                $"--block {options.Block} needs a method that selects in blocks ({string.Join(", ", RowSelectors.BlockMethods)}) in --method; KEN's rule is element-wise.");
        }

        return variants;
    }

    /// <summary>The gold label index of every example, through the task's label names.</summary>
    public static int[] GoldLabels(IReadOnlyList<EvalExample> examples, IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(labels);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < labels.Count; i++)
        {
            index[labels[i]] = i;
        }

        var gold = new int[examples.Count];
        for (int i = 0; i < examples.Count; i++)
        {
            var e = examples[i];
            if (e.Label is null)
            {
                throw new KenException($"line {e.Line}: no \"label\"; a classification task needs one of {string.Join(", ", labels)} on every row.");
            }

            if (!index.TryGetValue(e.Label, out gold[i]))
            {
                throw new KenException(
                    $"line {e.Line}: label '{e.Label}' is not a label of the task; its labels (config.json id2label) are {string.Join(", ", labels)}.");
            }
        }

        return gold;
    }

    private static BackboneOptions ResolveBackbone(EvalOptions options)
    {
        bool isDefault = !File.Exists(options.BaseModel) && DefaultModels.TryResolve(options.BaseModel, out _);
        if (!isDefault && !options.BaseModel.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            throw new KenException(
                $"--base {options.BaseModel}: evaluation serves the base as the backbone, so it must be an .onnx encoder or one of {string.Join(", ", DefaultModels.Names)}.");
        }

        return BackboneModel.Resolve(options.BaseModel, options.Vocab, "--base") with
        {
            Slots = 1,
            MaxBatchSize = options.MaxBatchSize,
            IntraOpThreads = options.Threads,
        };
    }

    private static BuiltDelta Build(
        ICheckpoint baseModel, ICheckpoint finetuned, EvalOptions options, PruneBudget budget, string method, int block, string file, Step step, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var built = DeltaBuilder.Build(
            baseModel,
            finetuned,
            new PruneOptions
            {
                Budget = budget,
                Method = method,
                Block = block,
                BlockLayout = options.BlockLayout,
                Seed = options.Seed,
                Task = Path.GetFileName(file),
                Pooling = options.Pooling,
                Normalize = options.Normalize,
                BaseModel = options.BaseModel,
                MaxDegreeOfParallelism = options.Threads,
            },
            new Progress(p => step.Report(p.ElementsDone, p.ElementsTotal)),
            cancellationToken);
        double seconds = watch.Elapsed.TotalSeconds;

        // Serve what a user would register: the file, read back (values in their stored dtype).
        string path = file.EndsWith(".ken", StringComparison.Ordinal) ? file : file + ".ken";
        KenDeltaWriter.Write(path, built);
        long bytes = new FileInfo(path).Length;
        var delta = KenDeltaReader.Read(path);
        File.Delete(path);
        return new BuiltDelta(delta, budget, bytes, seconds);
    }

    private static TaskOutputs Serve(PatchingBackend backend, KenDelta delta, string[] texts, Step step, CancellationToken cancellationToken)
    {
        var task = backend.Bind(delta);
        backend.Swap(0, task);
        try
        {
            var predicted = new List<int>(texts.Length);
            var embeddings = new List<float[]>(texts.Length);
            for (int start = 0; start < texts.Length; start += backend.MaxBatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                step.Report(start, texts.Length);
                int count = Math.Min(backend.MaxBatchSize, texts.Length - start);
                var output = backend.Run(0, task, new ArraySegment<string>(texts, start, count));
                if (output.Classifications is { } classes)
                {
                    foreach (var c in classes)
                    {
                        predicted.Add(c.LabelIndex);
                    }
                }

                if (output.Embeddings is { } vectors)
                {
                    embeddings.AddRange(vectors);
                }
            }

            step.Report(texts.Length, texts.Length);
            return new TaskOutputs(predicted, embeddings);
        }
        finally
        {
            backend.Swap(0, null);
        }
    }

    private static EvalResult Score(
        BuiltDelta delta, TaskOutputs output, TaskOutputs dense, int[]? gold, int labelCount, ReconstructionError error, double runSeconds)
    {
        var result = new EvalResult
        {
            Method = EvalResult.DenseMethod,
            Budget = delta.Budget,
            FractionReset = error.FractionReset,
            KenBytes = delta.Bytes,
            ReconstructionError = error.Relative,
            PruneSeconds = delta.PruneSeconds,
            RunSeconds = runSeconds,
        };
        if (gold is not null)
        {
            return result with
            {
                Accuracy = ClassificationMetrics.Accuracy(gold, output.Predicted),
                MacroF1 = ClassificationMetrics.MacroF1(gold, output.Predicted, labelCount),
            };
        }

        double sum = 0, min = double.PositiveInfinity;
        for (int i = 0; i < output.Embeddings.Count; i++)
        {
            double cosine = EmbeddingMetrics.Cosine(output.Embeddings[i], dense.Embeddings[i]);
            sum += cosine;
            min = Math.Min(min, cosine);
        }

        return result with { MeanCosine = sum / output.Embeddings.Count, MinCosine = min };
    }

    private sealed record BuiltDelta(KenDelta Delta, PruneBudget Budget, long Bytes, double PruneSeconds);

    private sealed record TaskOutputs(List<int> Predicted, List<float[]> Embeddings);

    private sealed class Step(IProgress<EvalProgress>? progress, string name, int index, int count)
    {
        public Step Named(string other) => new(progress, other, index, count);

        public void Report(long done, long total) => progress?.Report(new EvalProgress(name, done, total, index, count));
    }

    // Progress<T> would post to the thread pool; the caller's bar must see reports in order.
    private sealed class Progress(Action<PruneProgress> handler) : IProgress<PruneProgress>
    {
        public void Report(PruneProgress value) => handler(value);
    }
}
