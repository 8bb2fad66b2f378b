using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Ken.Cli.Terminal;
using Ken.Evaluation;
using Ken.Format;
using Ken.Format.Checkpoints;
using Ken.Format.Deltas;
using Ken.Pruning.Pipeline;
using Ken.Pruning.Selection;

namespace Ken.Cli.Commands;

/// <summary><c>ken prune</c>: base + fine-tuned checkpoint → a <c>.ken</c> task delta.</summary>
internal static class PruneCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var baseOption = new Option<string>("--base") { Description = "Base model: .safetensors, .onnx, model folder, or minilm / arctic-xs.", Required = true };
        var finetunedOption = new Option<string>("--finetuned") { Description = "Fine-tuned model, same forms as --base.", Required = true };
        var kOption = new Option<int?>("--k") { Description = "Keep K values per row in every tensor (as in the KEN paper)." };
        var keepOption = new Option<double?>("--keep") { Description = "Keep this fraction of each row, in (0, 1]." };
        var outputOption = new Option<string>("--output", "-o") { Description = "Output .ken file.", Required = true };
        var taskOption = new Option<string?>("--task") { Description = "Task name (default: the output file name)." };
        var kindOption = new Option<string?>("--kind") { Description = "classification or embedding (default: classification when the fine-tuned model has a head)." };
        kindOption.AcceptOnlyFromAmong("classification", "embedding");
        var poolingOption = new Option<string?>("--pooling") { Description = "pooler, cls or mean (default: pooler for classification, mean for embedding)." };
        poolingOption.AcceptOnlyFromAmong("pooler", "cls", "mean");
        var normalizeOption = new Option<bool>("--normalize") { Description = "L2-normalize pooled outputs." };
        var labelsOption = new Option<string?>("--labels") { Description = "Comma-separated label names (default: config.json id2label)." };
        var methodOption = new Option<string>("--method") { Description = "Selection method: ken, magnitude or random.", DefaultValueFactory = _ => "ken" };
        methodOption.AcceptOnlyFromAmong("ken", "magnitude", "random");
        var blockOption = new Option<int>("--block")
        {
            Description = "Keep or reset aligned blocks of B consecutive elements of a row together (magnitude and random; 16 = one 64-byte line of F32). 1: element by element.",
            DefaultValueFactory = _ => 1,
        };
        var blockLayoutOption = new Option<string>("--block-layout")
        {
            Description = "What a block groups: serving (default: B neighbours in memory as the base stores each tensor, so B consecutive rows at one position of an ONNX MatMul weight) or rows (B consecutive elements of a canonical row).",
            DefaultValueFactory = _ => "serving",
        };
        blockLayoutOption.AcceptOnlyFromAmong("serving", "rows");
        var seedOption = new Option<long>("--seed") { Description = "Seed of --method random.", DefaultValueFactory = _ => 0 };
        var includeOption = new Option<string[]>("--include") { Description = "Only patch tensors matching these globs (* spans dots); others stay pre-trained.", AllowMultipleArgumentsPerToken = true };
        var excludeOption = new Option<string[]>("--exclude") { Description = "Never patch tensors matching these globs.", AllowMultipleArgumentsPerToken = true };
        var dtypeOption = new Option<string?>("--values-dtype") { Description = "Stored dtype of kept values: f32, f16 or bf16 (default: the fine-tuned dtype)." };
        dtypeOption.AcceptOnlyFromAmong("f32", "f16", "bf16");
        var threadsOption = new Option<int?>("--threads") { Description = "Worker threads (default: all cores)." };
        var recoverOption = new Option<bool>("--recover") { Description = "After selection, train only the kept positions on --data (classification; unkept positions stay the base)." };
        var dataOption = new Option<string?>("--data") { Description = "With --recover: JSON Lines of {\"text\": ..., \"label\": <label name>}." };
        var recoverStepsOption = new Option<int?>("--recover-steps") { Description = "With --recover: optimizer steps (default: one pass over --data)." };
        var recoverLrOption = new Option<double>("--recover-lr") { Description = "With --recover: peak learning rate of AdamW.", DefaultValueFactory = _ => 5e-5 };
        var recoverBatchOption = new Option<int>("--recover-batch") { Description = "With --recover: rows per step.", DefaultValueFactory = _ => 16 };
        var recoverLengthOption = new Option<int?>("--recover-max-length") { Description = $"With --recover: longest token sequence (default: config.json max_length of the fine-tuned model, else {DefaultRecoveryLength})." };

        var command = new Command("prune", "Make a KEN task delta (.ken) from a base and a fine-tuned checkpoint.")
        {
            baseOption, finetunedOption, kOption, keepOption, outputOption, taskOption, kindOption, poolingOption,
            normalizeOption, labelsOption, methodOption, blockOption, blockLayoutOption, seedOption, includeOption, excludeOption, dtypeOption, threadsOption,
            recoverOption, dataOption, recoverStepsOption, recoverLrOption, recoverBatchOption, recoverLengthOption,
        };

        command.SetAction(parse =>
        {
            var budget = ParseBudget(parse.GetValue(kOption), parse.GetValue(keepOption));
            string output = Path.GetFullPath(parse.GetRequiredValue(outputOption));
            string baseSpec = parse.GetRequiredValue(baseOption);
            string? labels = parse.GetValue(labelsOption);
            string method = parse.GetRequiredValue(methodOption);
            int block = parse.GetValue(blockOption);
            CheckBlock(method, block);
            var options = new PruneOptions
            {
                Budget = budget,
                Method = method,
                Block = block,
                BlockLayout = ParseBlockLayout(parse.GetValue(blockLayoutOption)),
                Seed = parse.GetValue(seedOption),
                Include = Globs(parse.GetValue(includeOption)),
                Exclude = Globs(parse.GetValue(excludeOption)),
                Task = parse.GetValue(taskOption) ?? Path.GetFileNameWithoutExtension(output),
                Kind = parse.GetValue(kindOption),
                Pooling = parse.GetValue(poolingOption),
                Normalize = parse.GetValue(normalizeOption),
                Labels = labels is null ? null : labels.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
                ValuesDType = ParseDType(parse.GetValue(dtypeOption)),
                BaseModel = baseSpec,
                MaxDegreeOfParallelism = parse.GetValue(threadsOption),
            };

            OutputPaths.EnsureFolderExists(output);
            var watch = Stopwatch.StartNew();
            using var baseModel = CheckpointLoader.Open(baseSpec);
            using var finetuned = CheckpointLoader.Open(parse.GetRequiredValue(finetunedOption));
            KenDelta delta;
            using (var bar = new ProgressBar(stderr, "prune"))
            {
                delta = DeltaBuilder.Build(baseModel, finetuned, options, bar.For<PruneProgress>(p => (p.ElementsDone, p.ElementsTotal, p.CurrentTensor)));
            }

            if (parse.GetValue(recoverOption))
            {
                var data = parse.GetValue(dataOption) ?? throw new UsageException("--recover needs --data: the labelled texts to recover on.");
                delta = Recover(delta, baseModel, baseSpec, data, parse.GetValue(recoverStepsOption), parse.GetValue(recoverLrOption), parse.GetValue(recoverBatchOption), parse.GetValue(recoverLengthOption) ?? TrainingLength.Of(finetuned.ConfigJson) ?? DefaultRecoveryLength, stdout, stderr);
            }
            else if (parse.GetValue(dataOption) is not null)
            {
                throw new UsageException("--data is for --recover; add --recover, or drop --data.");
            }

            KenDeltaWriter.Write(output, delta);
            long bytes = new FileInfo(output).Length;
            stdout.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"wrote {output}: {delta.PatchedTensors.Count} patched tensors, {delta.HeadTensors.Count} head tensors, {Bytes.Format(bytes)}, {options.Method}{BlockSuffix(block)} {budget}, in {watch.Elapsed.TotalSeconds:F1} s"));
            return CommandLineApp.Success;
        });
        return command;
    }

    private static PruneBudget ParseBudget(int? k, double? keep)
    {
        if (k is null == keep is null)
        {
            throw new UsageException("give exactly one budget: --k K (values kept per row) or --keep F (fraction of each row).");
        }

        try
        {
            return k is { } kk ? PruneBudget.Absolute(kk) : PruneBudget.Fraction(keep!.Value);
        }
        catch (KenException e)
        {
            throw new UsageException(e.Message, e);
        }
    }

    private static KenDelta Recover(KenDelta delta, ICheckpoint baseModel, string baseSpec, string dataPath, int? steps, double lr, int batch, int maxLength, TextWriter stdout, TextWriter stderr)
    {
        CheckRecovery(steps, lr, batch, maxLength);
        var data = Ken.Training.FineTuning.TrainingData.ReadEvaluation(dataPath, delta.Metadata.Labels);
        var options = RecoveryOptions(data, steps, lr, batch, maxLength);
        using var recovery = new Ken.Training.Recovery.MaskedRecovery(delta, baseModel);
        var tokenizer = Ken.Runtime.Tokenization.BertTextTokenizer.Load(BaseVocab.Of(baseSpec), maxLength, batch);
        var watch = Stopwatch.StartNew();
        IReadOnlyList<double> losses;
        using (var bar = new ProgressBar(stderr, "recover"))
        {
            losses = recovery.Train(data.Rows, tokenizer, options, bar.For<Ken.Training.FineTuning.TrainingStep>(s => (s.Step, s.TotalSteps, string.Create(CultureInfo.InvariantCulture, $"loss {s.Loss:F4}"))));
        }

        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"recovered on {data.Rows.Count} rows: {losses.Count} steps in {watch.Elapsed.TotalSeconds:F1} s, loss {losses[0]:F4} -> {losses[^1]:F4}; unkept positions changed: {recovery.UnkeptChanged()}"));
        return recovery.ToDelta();
    }

    /// <summary>
    /// The recovery <c>ken eval --recover-data</c> runs on each pruned delta (no output of its own), at the
    /// evaluation's sequence length, else <see cref="DefaultRecoveryLength"/>.
    /// </summary>
    internal static DeltaRecovery Recovery(string dataPath, string baseSpec, int? steps, double lr, int batch)
    {
        CheckRecovery(steps, lr, batch, DefaultRecoveryLength);
        var vocab = BaseVocab.Of(baseSpec);
        return (delta, baseModel, trainingLength, onStep, cancellationToken) =>
        {
            int maxLength = trainingLength ?? DefaultRecoveryLength;
            var data = Ken.Training.FineTuning.TrainingData.ReadEvaluation(dataPath, delta.Metadata.Labels);
            var options = RecoveryOptions(data, steps, lr, batch, maxLength);
            using var recovery = new Ken.Training.Recovery.MaskedRecovery(delta, baseModel);
            var progress = onStep is null ? null : new SynchronousProgress<Ken.Training.FineTuning.TrainingStep>(s => onStep(s.Step, s.TotalSteps));
            recovery.Train(data.Rows, Ken.Runtime.Tokenization.BertTextTokenizer.Load(vocab, maxLength, batch), options, progress, cancellationToken);
            return recovery.ToDelta();
        };
    }

    private static void CheckRecovery(int? steps, double lr, int batch, int maxLength)
    {
        if (batch < 1 || maxLength < 1 || lr <= 0 || steps is < 1)
        {
            throw new UsageException("--recover-batch, --recover-max-length and --recover-steps must be at least 1, and --recover-lr above 0.");
        }
    }

    /// <summary>Recovery's training settings: as many passes as the steps need; by default one pass over the rows.</summary>
    private static Ken.Training.FineTuning.FineTuneOptions RecoveryOptions(Ken.Training.FineTuning.TrainingData data, int? steps, double lr, int batch, int maxLength) =>
        new() { Epochs = int.MaxValue, BatchSize = batch, MaxLength = maxLength, LearningRate = lr, MaxSteps = steps ?? ((data.Rows.Count + batch - 1) / batch) };

    /// <summary>Recovery's sequence length when neither the command line nor the fine-tuned model gives one.</summary>
    private const int DefaultRecoveryLength = 128;

    internal static void CheckBlock(string method, int block)
    {
        try
        {
            RowSelectors.Create(method, 0, block);
        }
        catch (KenException e)
        {
            throw new UsageException(e.Message, e);
        }
    }

    internal static string BlockSuffix(int block) =>
        block > 1 ? string.Create(CultureInfo.InvariantCulture, $" block {block}") : string.Empty;

    private static TensorGlob[] Globs(string[]? patterns) =>
        patterns is null ? [] : Array.ConvertAll(patterns, p => new TensorGlob(p));

    internal static Ken.Pruning.Selection.BlockLayout ParseBlockLayout(string? text) =>
        text == "rows" ? Ken.Pruning.Selection.BlockLayout.Rows : Ken.Pruning.Selection.BlockLayout.Serving;

    internal static TensorDType? ParseDType(string? text) => text switch
    {
        null => null,
        "f32" => TensorDType.F32,
        "f16" => TensorDType.F16,
        "bf16" => TensorDType.BF16,
        _ => throw new UsageException($"--values-dtype {text} is not known; use f32, f16 or bf16."),
    };
}
