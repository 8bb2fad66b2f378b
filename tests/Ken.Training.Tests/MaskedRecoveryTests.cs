using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Onnx;
using Ken.Format.Checkpoints.Safetensors;
using Ken.Format.Deltas;
using Ken.Pruning.Pipeline;
using Ken.Runtime.Tokenization;
using Ken.TestSupport;
using Ken.Training.Encoder;
using Ken.Training.FineTuning;
using Ken.Training.Recovery;

namespace Ken.Training.Tests;

/// <summary>Recovery training of a keep-0.1 magnitude delta of a classifier fine-tuned here on 24 real spam rows.</summary>
public sealed class MaskedRecoveryTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Masked_training_moves_kept_positions_and_never_an_unkept_one_and_keeps_the_masks()
    {
        var (delta, data, baseModel, vocab) = PrunedClassifier();
        using var _ = baseModel;
        var options = new FineTuneOptions { Epochs = 2, BatchSize = 8, MaxLength = 32, LearningRate = 1e-4, Seed = 2 };
        using var recovery = new MaskedRecovery(delta, baseModel);
        var tokenizer = BertTextTokenizer.Load(vocab, options.MaxLength, options.BatchSize);
        var before = new FineTuner(recovery.Model, tokenizer, options).MeanLoss(data.Rows);

        recovery.Train(data.Rows, tokenizer, options, cancellationToken: Ct);

        Assert.Equal(0, recovery.UnkeptChanged());
        Assert.True(new FineTuner(recovery.Model, tokenizer, options).MeanLoss(data.Rows) < before, "recovery did not lower the rows' loss");
        var recovered = recovery.ToDelta();
        Assert.All(delta.PatchedTensors.Zip(recovered.PatchedTensors), p => Assert.Equal(p.First.Mask, p.Second.Mask));
        Assert.Contains(delta.PatchedTensors.Zip(recovered.PatchedTensors), p => !p.First.Values.SequenceEqual(p.Second.Values));
        Assert.Equal(delta.Metadata.Labels, recovered.Metadata.Labels);

        // The check can fail: one plain step (no masking, weight decay on) moves unkept positions.
        new FineTuner(recovery.Model, tokenizer, options with { MaxSteps = 1 }).Train(data.Rows, cancellationToken: Ct);
        Assert.True(recovery.UnkeptChanged() > 0);
    }

    [Fact]
    public void A_cls_task_keeps_the_pooler_it_carries_untouched()
    {
        var (pooled, data, baseModel, vocab) = PrunedClassifier();
        using var _ = baseModel;
        var delta = pooled with { Metadata = pooled.Metadata with { Pooling = PoolingMode.Cls } };
        Assert.Contains(delta.PatchedTensors, p => p.Name == "pooler.dense.weight");
        using var recovery = new MaskedRecovery(delta, baseModel);
        var options = new FineTuneOptions { BatchSize = 8, MaxLength = 32, MaxSteps = 1 };
        recovery.Train(data.Rows, BertTextTokenizer.Load(vocab, 32, 8), options, cancellationToken: Ct);

        var recovered = recovery.ToDelta();
        Assert.Equal(0, recovery.UnkeptChanged());
        Assert.Equal(delta.PatchedTensors.Single(p => p.Name == "pooler.dense.weight").Values, recovered.PatchedTensors.Single(p => p.Name == "pooler.dense.weight").Values);
    }

    [Fact]
    public void An_embedding_delta_is_refused_with_the_reason()
    {
        using var baseModel = OnnxCheckpoint.Open(DefaultModels.Get("minilm").ModelPath);
        using var arctic = OnnxCheckpoint.Open(DefaultModels.Get("arctic-xs").ModelPath);
        var delta = DeltaBuilder.Build(baseModel, arctic, new PruneOptions { Budget = PruneBudget.Fraction(0.05), Method = "magnitude", Kind = "embedding", Task = "arctic" }, null, Ct);
        var error = Assert.Throws<Ken.Format.KenException>(() => new MaskedRecovery(delta, baseModel));
        Assert.Contains("embedding task", error.Message, StringComparison.Ordinal);
    }

    private (KenDelta Delta, TrainingData Data, OnnxCheckpoint Base, string Vocab) PrunedClassifier()
    {
        var data = TrainingData.ReadTraining(Path.Combine(AppContext.BaseDirectory, "Data", "spam-24.jsonl"));
        var minilm = DefaultModels.Get("minilm");
        var baseModel = OnnxCheckpoint.Open(minilm.ModelPath);
        var folder = _dir.File("classifier");
        using (var model = new ClassifierModel(BertEncoder.FromCheckpoint(baseModel), baseModel, "pooler", data.Labels.Count, seed: 4))
        {
            var options = new FineTuneOptions { Epochs = 1, BatchSize = 8, MaxLength = 32, LearningRate = 1e-4, MaxSteps = 3 };
            new FineTuner(model, BertTextTokenizer.Load(minilm.VocabPath, 32, 8), options).Train(data.Rows, cancellationToken: Ct);
            FineTunedFolder.Write(folder, model, data.Labels, 32, minilm.VocabPath);
        }

        using var finetuned = HuggingFaceFolder.Open(folder);
        var delta = DeltaBuilder.Build(baseModel, finetuned, new PruneOptions { Budget = PruneBudget.Fraction(0.1), Method = "magnitude", Task = "spam" }, null, Ct);
        return (delta, data, baseModel, minilm.VocabPath);
    }
}
