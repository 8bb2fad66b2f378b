using System.Diagnostics;
using Ken.Runtime.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Ken.Training.FineTuning;

/// <summary>
/// Full fine-tuning of a <see cref="ClassifierModel"/> for classification: AdamW (weight decay
/// <see cref="FineTuneOptions.WeightDecay"/>), the learning rate warmed up linearly from 0 over the first
/// <see cref="FineTuneOptions.WarmupFraction"/> of the steps and then decayed linearly to 0, cross-entropy
/// loss, rows shuffled each epoch by a generator seeded from <see cref="FineTuneOptions.Seed"/>. On the CPU
/// with one seed the run is reproducible.
/// </summary>
public sealed class FineTuner
{
    private readonly ClassifierModel _model;
    private readonly BertTextTokenizer _tokenizer;
    private readonly FineTuneOptions _options;

    public FineTuner(ClassifierModel model, BertTextTokenizer tokenizer, FineTuneOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(options);
        _model = model;
        _tokenizer = tokenizer;
        _options = options;
    }

    /// <summary>
    /// Trains on <paramref name="rows"/>; returns the loss of every step. <paramref name="beforeStep"/> runs after the
    /// gradients are computed and before the optimizer moves the parameters, <paramref name="afterStep"/> after
    /// (masked recovery zeroes gradients and restores frozen positions there).
    /// </summary>
    public IReadOnlyList<double> Train(
        IReadOnlyList<LabeledText> rows,
        IProgress<TrainingStep>? progress = null,
        Action? beforeStep = null,
        Action? afterStep = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var stepsPerEpoch = (rows.Count + _options.BatchSize - 1) / _options.BatchSize;
        var total = (int)Math.Min(_options.MaxSteps ?? int.MaxValue, (long)stepsPerEpoch * _options.Epochs);
        var warmup = Math.Max(1, (int)Math.Round(total * _options.WarmupFraction));
        using var optimizer = optim.AdamW(_model.parameters(), _options.LearningRate, weight_decay: _options.WeightDecay);
        var order = Enumerable.Range(0, rows.Count).ToArray();
        var shuffle = new Random(unchecked((int)_options.Seed));
        var losses = new List<double>(total);
        var batch = _tokenizer.CreateBatch();
        var clock = Stopwatch.StartNew();
        long texts = 0;
        _model.train();
        for (var epoch = 0; losses.Count < total; epoch++)
        {
            shuffle.Shuffle(order);
            for (var start = 0; start < order.Length && losses.Count < total; start += _options.BatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var step = losses.Count;
                var rate = _options.LearningRate * (step < warmup ? (step + 1.0) / warmup : Math.Max(0.0, (total - step) / (double)Math.Max(1, total - warmup)));
                foreach (var group in optimizer.ParamGroups)
                {
                    group.LearningRate = rate;
                }

                var indices = order.AsSpan(start, Math.Min(_options.BatchSize, order.Length - start)).ToArray();
                using var scope = NewDisposeScope();
                var logits = Logits([.. indices.Select(i => rows[i].Text)], batch);
                var loss = nn.functional.cross_entropy(logits, tensor(indices.Select(i => (long)rows[i].Label).ToArray()));
                optimizer.zero_grad();
                loss.backward();
                beforeStep?.Invoke();
                optimizer.step();
                afterStep?.Invoke();
                losses.Add(loss.item<float>());
                texts += indices.Length;
                progress?.Report(new TrainingStep(step + 1, total, epoch + 1, losses[^1], rate, texts / Math.Max(1e-9, clock.Elapsed.TotalSeconds)));
            }
        }

        _model.eval();
        return losses;
    }

    /// <summary>The mean cross-entropy loss over <paramref name="rows"/> (no gradients).</summary>
    public double MeanLoss(IReadOnlyList<LabeledText> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var batch = _tokenizer.CreateBatch();
        _model.eval();
        using var noGrad = no_grad();
        double sum = 0;
        for (var start = 0; start < rows.Count; start += _options.BatchSize)
        {
            using var scope = NewDisposeScope();
            var count = Math.Min(_options.BatchSize, rows.Count - start);
            var logits = Logits([.. rows.Skip(start).Take(count).Select(r => r.Text)], batch);
            var labels = tensor(rows.Skip(start).Take(count).Select(r => (long)r.Label).ToArray());
            sum += nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.Sum).item<float>();
        }

        return sum / rows.Count;
    }

    /// <summary>The predicted label of every row (no gradients), in batches of the training batch size.</summary>
    public int[] Predict(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var predictions = new int[texts.Count];
        var batch = _tokenizer.CreateBatch();
        _model.eval();
        using var noGrad = no_grad();
        for (var start = 0; start < texts.Count; start += _options.BatchSize)
        {
            using var scope = NewDisposeScope();
            var count = Math.Min(_options.BatchSize, texts.Count - start);
            var logits = Logits([.. texts.Skip(start).Take(count)], batch);
            var best = logits.argmax(1).data<long>().ToArray();
            for (var i = 0; i < count; i++)
            {
                predictions[start + i] = (int)best[i];
            }
        }

        return predictions;
    }

    /// <summary>Tokenizes <paramref name="texts"/> into <paramref name="batch"/> and runs the model: logits <c>[texts, labels]</c>.</summary>
    private Tensor Logits(IReadOnlyList<string> texts, TokenizedBatch batch)
    {
        _tokenizer.Tokenize(texts, batch);
        long[] shape = [batch.BatchSize, batch.SequenceLength];
        return _model.forward(tensor(batch.InputIds.ToArray(), shape), tensor(batch.AttentionMask.ToArray(), shape), tensor(batch.TokenTypeIds.ToArray(), shape));
    }
}
