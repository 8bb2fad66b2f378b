using System.CommandLine;
using System.Globalization;
using Ken.Cli.Terminal;
using Ken.Evaluation;
using Ken.Format;
using Ken.Format.Deltas;
using Ken.Pruning.Pipeline;
using Ken.Pruning.Selection;
using Ken.Viz;

namespace Ken.Cli.Commands;

/// <summary>
/// <c>ken eval</c>: what pruning costs on the user's own task. Serves the dense fine-tuned model and each
/// budget × method delta in-process through the server's runtime and reports accuracy (classification)
/// or cosine to the dense embeddings (embedding), with the fraction reset, file size and reconstruction error.
/// </summary>
internal static class EvalCommand
{
    private static readonly string[] KnownMethods = ["ken", "magnitude", "random"];

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var baseOption = new Option<string>("--base") { Description = "Base model, also the serving backbone: an .onnx encoder or minilm / arctic-xs.", Required = true };
        var finetunedOption = new Option<string>("--finetuned") { Description = "Fine-tuned model: .safetensors, .onnx, model folder, or a default model name.", Required = true };
        var dataOption = new Option<string>("--data") { Description = "JSON Lines of {\"text\": ..., \"label\": <label name>} (label not needed for embedding models).", Required = true };
        var keepOption = new Option<string?>("--keep") { Description = "Comma-separated kept fractions of each row, e.g. 0.25,0.5,0.75." };
        var kOption = new Option<string?>("--k") { Description = "Comma-separated values kept per row in every tensor (as in the KEN paper), e.g. 96,192." };
        var methodOption = new Option<string>("--method") { Description = "Comma-separated selection methods: ken, magnitude, random.", DefaultValueFactory = _ => "ken,magnitude,random" };
        var blockOption = new Option<int>("--block")
        {
            Description = "Also evaluate magnitude and random in aligned blocks of B elements (e.g. 16), beside their element-wise runs. 1: off.",
            DefaultValueFactory = _ => 1,
        };
        var blockLayoutOption = new Option<string>("--block-layout")
        {
            Description = "What a block groups: serving (default: B neighbours in memory as the base stores each tensor, so B consecutive rows at one position of an ONNX MatMul weight) or rows (B consecutive elements of a canonical row).",
            DefaultValueFactory = _ => "serving",
        };
        blockLayoutOption.AcceptOnlyFromAmong("serving", "rows");
        var recoverDataOption = new Option<string?>("--recover-data") { Description = "Also evaluate each pruned delta after recovery training on these labelled texts (JSON Lines; rows labelled method+rec)." };
        var recoverStepsOption = new Option<int?>("--recover-steps") { Description = "With --recover-data: optimizer steps per delta (default: one pass)." };
        var recoverLrOption = new Option<double>("--recover-lr") { Description = "With --recover-data: peak learning rate.", DefaultValueFactory = _ => 5e-5 };
        var recoverBatchOption = new Option<int>("--recover-batch") { Description = "With --recover-data: rows per step.", DefaultValueFactory = _ => 16 };
        var seedOption = new Option<long>("--seed") { Description = "Seed of --method random.", DefaultValueFactory = _ => 0 };
        var limitOption = new Option<int?>("--limit") { Description = "Evaluate only N rows of --data, spread evenly over the file." };
        var jsonOption = new Option<string?>("--json") { Description = "Also write the results as JSON to this file." };
        var plotOption = new Option<string?>("--plot") { Description = "Also draw accuracy (or mean cosine) against fraction reset, one line per method, to this PNG." };
        var poolingOption = new Option<string?>("--pooling") { Description = "pooler, cls or mean (default: as ken prune)." };
        poolingOption.AcceptOnlyFromAmong("pooler", "cls", "mean");
        var normalizeOption = new Option<bool>("--normalize") { Description = "L2-normalize pooled outputs." };
        var maxLengthOption = new Option<int?>("--max-length") { Description = "Longest token sequence (default: config.json max_length of the fine-tuned model, else the backbone's)." };
        var vocabOption = new Option<string?>("--vocab") { Description = "The backbone's vocab.txt (default: the default model's, or next to the .onnx)." };
        var batchOption = new Option<int>("--batch") { Description = "Texts per run.", DefaultValueFactory = _ => 32 };
        var threadsOption = new Option<int?>("--threads") { Description = "Worker threads (default: all cores)." };
        var command = new Command("eval", "Measure a task's accuracy (or embedding fidelity) at several budgets and selection methods against the dense fine-tuned model.")
        {
            baseOption, finetunedOption, dataOption, keepOption, kOption, methodOption, blockOption, blockLayoutOption, recoverDataOption, recoverStepsOption, recoverLrOption, recoverBatchOption, seedOption, limitOption, jsonOption, plotOption,
            poolingOption, normalizeOption, maxLengthOption, vocabOption, batchOption, threadsOption,
        };

        command.SetAction(parse =>
        {
            var budgets = ParseBudgets(parse.GetValue(keepOption), parse.GetValue(kOption));
            var methods = ParseMethods(parse.GetRequiredValue(methodOption));
            int? limit = parse.GetValue(limitOption);
            if (limit is < 1)
            {
                throw new UsageException($"--limit {limit} is not valid; give at least 1 row.");
            }

            int batch = parse.GetValue(batchOption);
            if (batch < 1)
            {
                throw new UsageException($"--batch {batch} is not valid; give at least 1 text per run.");
            }

            string? json = FullPath(parse.GetValue(jsonOption));
            string? plot = FullPath(parse.GetValue(plotOption));
            // Checked before the run, which takes minutes: a bad output path must not waste them.
            foreach (var output in new[] { json, plot })
            {
                if (output is not null)
                {
                    OutputPaths.EnsureFolderExists(output);
                }
            }

            if (plot is not null)
            {
                VizFonts.EnsureAvailable();
            }

            CheckBlock(methods, parse.GetValue(blockOption));
            var examples = EvalDataReader.Read(parse.GetRequiredValue(dataOption), limit);
            var options = new EvalOptions
            {
                BaseModel = parse.GetRequiredValue(baseOption),
                Finetuned = parse.GetRequiredValue(finetunedOption),
                Budgets = budgets,
                Methods = methods,
                Block = parse.GetValue(blockOption),
                BlockLayout = PruneCommand.ParseBlockLayout(parse.GetValue(blockLayoutOption)),
                Recover = parse.GetValue(recoverDataOption) is { } recoverData
                    ? PruneCommand.Recovery(recoverData, parse.GetRequiredValue(baseOption), parse.GetValue(recoverStepsOption), parse.GetValue(recoverLrOption), parse.GetValue(recoverBatchOption))
                    : null,
                Seed = parse.GetValue(seedOption),
                Vocab = parse.GetValue(vocabOption),
                Pooling = parse.GetValue(poolingOption),
                Normalize = parse.GetValue(normalizeOption),
                MaxSequenceLength = parse.GetValue(maxLengthOption),
                MaxBatchSize = batch,
                Threads = parse.GetValue(threadsOption),
            };

            EvalReport report;
            using (var bar = new ProgressBar(stderr, "eval"))
            {
                report = TaskEvaluator.Run(options, examples, bar.For<EvalProgress>(p => (p.Done, p.Total, $"[{p.StepIndex + 1}/{p.StepCount}] {p.Step}")));
            }

            WriteTable(stdout, report);
            if (json is not null)
            {
                File.WriteAllText(json, EvalReportJson.Serialize(report));
                stdout.WriteLine($"wrote {json}");
            }

            if (plot is not null)
            {
                File.WriteAllBytes(plot, Plot(report, Path.GetFileName(Path.TrimEndingDirectorySeparator(options.Finetuned))));
                stdout.WriteLine($"wrote {plot}");
            }

            return CommandLineApp.Success;
        });
        return command;
    }

    private static void WriteTable(TextWriter stdout, EvalReport report)
    {
        bool classification = report.Kind == TaskKind.Classification;
        var dense = report.Dense;
        stdout.WriteLine(Inv($"{report.Examples} examples, {KenDeltaMetadata.ToText(report.Kind)}, max length {report.MaxSequenceLength} tokens"));
        var table = classification
            ? new TextTable("method", "budget", "reset", ".ken size", "recon. error", "accuracy", "vs dense (pts)", "macro-F1")
            : new TextTable("method", "budget", "reset", ".ken size", "recon. error", "mean cosine", "min cosine");
        foreach (var r in report.Results)
        {
            string budget = r.Budget.ToString();
            string reset = Inv($"{r.FractionReset * 100:F1} %");
            string error = Inv($"{r.ReconstructionError:F4}");
            if (classification)
            {
                table.Add(
                    r.Method, budget, reset, Bytes.Format(r.KenBytes), error, Inv($"{r.Accuracy:F4}"),
                    Inv($"{(r.Accuracy!.Value - dense.Accuracy!.Value) * 100:+0.00;-0.00;0.00}"), Inv($"{r.MacroF1:F4}"));
            }
            else
            {
                table.Add(r.Method, budget, reset, Bytes.Format(r.KenBytes), error, Inv($"{r.MeanCosine:F4}"), Inv($"{r.MinCosine:F4}"));
            }
        }

        table.Write(stdout);
    }

    private static byte[] Plot(EvalReport report, string taskName)
    {
        bool classification = report.Kind == TaskKind.Classification;
        var series = new List<PlotSeries>();
        foreach (var group in report.Results.Skip(1).GroupBy(r => r.Method))
        {
            var points = group.OrderBy(r => r.FractionReset).ToArray();
            series.Add(new PlotSeries(
                group.Key,
                Array.ConvertAll(points, r => r.FractionReset * 100),
                Array.ConvertAll(points, r => classification ? r.Accuracy!.Value : r.MeanCosine!.Value)));
        }

        var dense = report.Dense;
        return classification
            ? LineChartRenderer.Render(
                Inv($"{taskName}: accuracy against parameters reset ({report.Examples} examples)"),
                "parameters reset (% of patched tensors)", "accuracy", series, dense.Accuracy, Inv($"dense fine-tuned ({dense.Accuracy:F4})"))
            : LineChartRenderer.Render(
                Inv($"{taskName}: cosine to the fine-tuned embeddings ({report.Examples} texts)"),
                "parameters reset (% of patched tensors)", "mean cosine similarity", series, 1.0, "dense fine-tuned (1.0)");
    }

    private static List<PruneBudget> ParseBudgets(string? keep, string? k)
    {
        if (keep is null && k is null)
        {
            throw new UsageException("give budgets: --keep 0.25,0.5,0.75 (fractions of each row) and/or --k 96,192 (values per row).");
        }

        var budgets = new List<PruneBudget>();
        try
        {
            foreach (var item in Split(keep))
            {
                budgets.Add(double.TryParse(item, NumberStyles.Float, CultureInfo.InvariantCulture, out double f)
                    ? PruneBudget.Fraction(f)
                    : throw new UsageException($"--keep {item} is not a number; give fractions like 0.25,0.5."));
            }

            foreach (var item in Split(k))
            {
                budgets.Add(int.TryParse(item, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n)
                    ? PruneBudget.Absolute(n)
                    : throw new UsageException($"--k {item} is not a whole number; give values like 96,192."));
            }
        }
        catch (KenException e)
        {
            throw new UsageException(e.Message, e);
        }

        return budgets;
    }

    /// <summary>Refuses, before the run, a block size no listed method can use.</summary>
    private static void CheckBlock(List<string> methods, int block)
    {
        if (block < 1)
        {
            throw new UsageException($"--block {block} is not valid; give 1 (element by element) or a block size such as 16.");
        }

        if (block > 1 && !methods.Any(m => RowSelectors.BlockMethods.Contains(m)))
        {
            throw new UsageException(
                $"--block {block} needs magnitude or random in --method (KEN's rule is element-wise); e.g. --method magnitude --block {block}.");
        }
    }

    private static List<string> ParseMethods(string text)
    {
        var methods = Split(text);
        foreach (var m in methods)
        {
            if (!KnownMethods.Contains(m))
            {
                throw new UsageException($"--method {m} is not known; choose from {string.Join(", ", KnownMethods)} (comma-separated).");
            }
        }

        if (methods.Count == 0)
        {
            throw new UsageException("--method is empty; give one or more of ken, magnitude, random.");
        }

        return methods.Distinct(StringComparer.Ordinal).ToList();
    }

    private static List<string> Split(string? list) =>
        list is null ? [] : [.. list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)];

    private static string? FullPath(string? path) => path is null ? null : Path.GetFullPath(path);

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
