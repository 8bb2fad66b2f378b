using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Ken.Cli.Terminal;
using Ken.Format;
using Ken.Format.Checkpoints;
using Ken.Runtime.Tokenization;
using Ken.Training.Encoder;
using Ken.Training.FineTuning;

namespace Ken.Cli.Commands;

/// <summary><c>ken finetune</c>: labelled texts → a fine-tuned classifier folder that <c>ken prune</c> reads.</summary>
internal static class FinetuneCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var baseOption = new Option<string>("--base") { Description = "Base model: minilm / arctic-xs, .onnx, .safetensors or model folder.", Required = true };
        var dataOption = new Option<string>("--data") { Description = "Training rows, JSON Lines of {\"text\": ..., \"label\": ...}; its labels, sorted, become the task's.", Required = true };
        var evalOption = new Option<string?>("--eval") { Description = "Test rows (same form) scored after training." };
        var outputOption = new Option<string>("--output", "-o") { Description = "Output folder (model.safetensors, config.json, vocab.txt).", Required = true };
        var epochsOption = new Option<int>("--epochs") { Description = "Passes over the training rows.", DefaultValueFactory = _ => 3 };
        var lrOption = new Option<double>("--lr") { Description = "Peak learning rate of AdamW (linear warm-up over 10 % of the steps, then linear decay).", DefaultValueFactory = _ => 5e-5 };
        var batchOption = new Option<int>("--batch") { Description = "Rows per step.", DefaultValueFactory = _ => 16 };
        var maxLengthOption = new Option<int>("--max-length") { Description = "Longest token sequence; longer texts are cut.", DefaultValueFactory = _ => 128 };
        var seedOption = new Option<long>("--seed") { Description = "Seeds the head and the row order.", DefaultValueFactory = _ => 1 };
        var poolingOption = new Option<string>("--pooling") { Description = "pooler, cls or mean.", DefaultValueFactory = _ => "pooler" };
        poolingOption.AcceptOnlyFromAmong("pooler", "cls", "mean");
        var vocabOption = new Option<string?>("--vocab") { Description = "vocab.txt of the base (default: the default model's, or the base folder's)." };
        var maxStepsOption = new Option<int?>("--max-steps") { Description = "Stop after this many steps (default: every epoch)." };

        var command = new Command("finetune", "Fine-tune a classifier on labelled texts (full fine-tuning, TorchSharp on the CPU).")
        {
            baseOption, dataOption, evalOption, outputOption, epochsOption, lrOption, batchOption, maxLengthOption, seedOption, poolingOption, vocabOption, maxStepsOption,
        };

        command.SetAction(parse =>
        {
            var options = new FineTuneOptions
            {
                Epochs = Positive(parse.GetValue(epochsOption), "--epochs"),
                LearningRate = parse.GetValue(lrOption) is > 0 and var lr ? lr : throw new UsageException("--lr must be above 0."),
                BatchSize = Positive(parse.GetValue(batchOption), "--batch"),
                MaxLength = Positive(parse.GetValue(maxLengthOption), "--max-length"),
                Seed = parse.GetValue(seedOption),
                Pooling = parse.GetRequiredValue(poolingOption),
                MaxSteps = parse.GetValue(maxStepsOption) is { } steps ? Positive(steps, "--max-steps") : null,
            };
            var baseSpec = parse.GetRequiredValue(baseOption);
            var vocab = parse.GetValue(vocabOption) ?? BaseVocab.Of(baseSpec);
            var output = Path.GetFullPath(parse.GetRequiredValue(outputOption));
            var train = TrainingData.ReadTraining(parse.GetRequiredValue(dataOption));
            var test = parse.GetValue(evalOption) is { } evalPath ? TrainingData.ReadEvaluation(evalPath, train.Labels) : null;

            var watch = Stopwatch.StartNew();
            using var baseModel = CheckpointLoader.Open(baseSpec);
            using var model = new ClassifierModel(BertEncoder.FromCheckpoint(baseModel), baseModel, options.Pooling, train.Labels.Count, options.Seed);
            var tuner = new FineTuner(model, BertTextTokenizer.Load(vocab, options.MaxLength, options.BatchSize), options);
            IReadOnlyList<double> losses;
            using (var bar = new ProgressBar(stderr, "finetune"))
            {
                losses = tuner.Train(train.Rows, bar.For<TrainingStep>(s => (s.Step, s.TotalSteps, string.Create(
                    CultureInfo.InvariantCulture, $"epoch {s.Epoch}, loss {s.Loss:F4}, {s.TextsPerSecond:F1} texts/s"))));
            }

            FineTunedFolder.Write(output, model, train.Labels, options.MaxLength, vocab);
            var seconds = watch.Elapsed.TotalSeconds;
            stdout.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"wrote {output}: {train.Rows.Count} rows, labels {string.Join(", ", train.Labels)}, {losses.Count} steps in {seconds:F1} s ({losses.Count / Math.Max(seconds, 1e-9):F2} steps/s), last loss {losses[^1]:F4}"));
            if (test is not null)
            {
                var predicted = tuner.Predict([.. test.Rows.Select(r => r.Text)]);
                var correct = test.Rows.Where((r, i) => predicted[i] == r.Label).Count();
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test accuracy {(double)correct / test.Rows.Count:F4} ({correct} of {test.Rows.Count})"));
            }

            return CommandLineApp.Success;
        });
        return command;
    }

    private static int Positive(int value, string flag) => value > 0 ? value : throw new UsageException($"{flag} must be at least 1.");
}
