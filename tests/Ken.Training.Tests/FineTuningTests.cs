using Ken.Format;
using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Onnx;
using Ken.Format.Checkpoints.Safetensors;
using Ken.Format.Deltas;
using Ken.Pruning.Pipeline;
using Ken.Runtime.Tokenization;
using Ken.TestSupport;
using Ken.Training.Encoder;
using Ken.Training.FineTuning;

namespace Ken.Training.Tests;

/// <summary>
/// Fine-tuning minilm on 24 real rows of the spam fixture (12 ham, 12 spam, texts cut to 300 characters;
/// `Data/spam-24.jsonl`, copied from `../shared/fixtures/classifiers/spam/train.jsonl`).
/// </summary>
public sealed class FineTuningTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string SpamTrain => Path.Combine(AppContext.BaseDirectory, "Data", "spam-24.jsonl");

    [Fact]
    public void A_few_steps_on_a_small_real_subset_lower_its_loss_and_the_same_seed_gives_the_same_losses()
    {
        var data = TrainingData.ReadTraining(SpamTrain);
        var options = new FineTuneOptions { Epochs = 3, BatchSize = 8, MaxLength = 32, LearningRate = 1e-4, Seed = 3 };

        var (first, before, after) = Run(data, options);
        var (again, _, _) = Run(data, options);

        Assert.True(after < before, $"the subset's loss went from {before} to {after}");
        Assert.Equal(9, first.Count);
        Assert.Equal(first, again);
    }

    [Fact]
    public void The_written_folder_goes_through_prune_as_a_classifier_with_its_labels_and_the_trained_head()
    {
        var data = TrainingData.ReadTraining(SpamTrain);
        var minilm = DefaultModels.Get("minilm");
        using var baseModel = OnnxCheckpoint.Open(minilm.ModelPath);
        using var model = new ClassifierModel(BertEncoder.FromCheckpoint(baseModel), baseModel, "pooler", data.Labels.Count, seed: 5);
        var options = new FineTuneOptions { Epochs = 1, BatchSize = 8, MaxLength = 32, MaxSteps = 2 };
        new FineTuner(model, BertTextTokenizer.Load(minilm.VocabPath, 32, 8), options).Train(data.Rows, cancellationToken: TestContext.Current.CancellationToken);
        var folder = _dir.File("spam-model");
        FineTunedFolder.Write(folder, model, data.Labels, 32, minilm.VocabPath);

        using var finetuned = HuggingFaceFolder.Open(folder);
        var delta = DeltaBuilder.Build(baseModel, finetuned, new PruneOptions { Budget = PruneBudget.Fraction(0.1), Method = "magnitude", Task = "spam" }, null, TestContext.Current.CancellationToken);

        Assert.Equal(TaskKind.Classification, delta.Metadata.Kind);
        Assert.Equal(["ham", "spam"], delta.Metadata.Labels);
        Assert.Contains(delta.HeadTensors, h => h.Name == "classifier.weight");
        Assert.NotEmpty(delta.PatchedTensors);
    }

    [Fact]
    public void Max_steps_bounds_a_run_of_unbounded_epochs()
    {
        // What recovery asks for: as many passes as the step count needs (epochs x steps per epoch overflowed an int).
        var data = TrainingData.ReadTraining(SpamTrain);
        var minilm = DefaultModels.Get("minilm");
        using var baseModel = OnnxCheckpoint.Open(minilm.ModelPath);
        using var model = new ClassifierModel(BertEncoder.FromCheckpoint(baseModel), baseModel, "cls", data.Labels.Count, seed: 1);
        var options = new FineTuneOptions { Epochs = int.MaxValue, BatchSize = 4, MaxLength = 16, MaxSteps = 7 };
        var losses = new FineTuner(model, BertTextTokenizer.Load(minilm.VocabPath, 16, 4), options).Train(data.Rows, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(7, losses.Count);
    }

    [Fact]
    public void Bad_rows_are_one_line_errors_that_name_the_file_and_line()
    {
        var train = _dir.File("train.jsonl");
        File.WriteAllLines(train, ["{\"text\": \"a\", \"label\": \"x\"}", "{\"text\": \"  \", \"label\": \"y\"}"]);
        Assert.Contains("line 2: the text is empty", Assert.Throws<KenException>(() => TrainingData.ReadTraining(train)).Message, StringComparison.Ordinal);

        File.WriteAllLines(train, ["{\"text\": \"a\", \"label\": \"x\"}", "{\"text\": \"b\", \"label\": \"x\"}"]);
        Assert.Contains("at least two labels", Assert.Throws<KenException>(() => TrainingData.ReadTraining(train)).Message, StringComparison.Ordinal);

        File.WriteAllLines(train, ["{\"text\": \"a\", \"label\": \"x\"}", "{\"text\": \"b\", \"label\": 1}"]);
        var labels = TrainingData.ReadTraining(train).Labels;
        Assert.Equal(["1", "x"], labels);
        var eval = _dir.File("eval.jsonl");
        File.WriteAllLines(eval, ["{\"text\": \"a\", \"label\": \"x\"}", "", "{\"text\": \"c\", \"label\": \"z\"}"]);
        var error = Assert.Throws<KenException>(() => TrainingData.ReadEvaluation(eval, labels)).Message;
        Assert.Contains("line 3: label 'z' is not in the training data", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
    }

    private static (IReadOnlyList<double> Losses, double Before, double After) Run(TrainingData data, FineTuneOptions options)
    {
        var minilm = DefaultModels.Get("minilm");
        using var baseModel = OnnxCheckpoint.Open(minilm.ModelPath);
        using var model = new ClassifierModel(BertEncoder.FromCheckpoint(baseModel), baseModel, options.Pooling, data.Labels.Count, options.Seed);
        var tuner = new FineTuner(model, BertTextTokenizer.Load(minilm.VocabPath, options.MaxLength, options.BatchSize), options);
        var before = tuner.MeanLoss(data.Rows);
        var losses = tuner.Train(data.Rows, cancellationToken: TestContext.Current.CancellationToken);
        return (losses, before, tuner.MeanLoss(data.Rows));
    }
}
