using System.Globalization;
using System.Numerics.Tensors;
using Ken.Format;

namespace Ken.Runtime.Heads;

/// <summary>
/// A task's classifier: a linear layer from the pooled vector to one logit per label, then softmax.
/// </summary>
public sealed class ClassificationHead
{
    private readonly string[] _labels;

    /// <param name="labels">Label names in logit order (the delta's <c>labels</c> metadata).</param>
    /// <param name="weight">The <c>classifier.weight</c> tensor, <c>[labels, hidden]</c>.</param>
    /// <param name="bias">The <c>classifier.bias</c> tensor, <c>[labels]</c>.</param>
    /// <param name="hiddenSize">The backbone's hidden size.</param>
    public ClassificationHead(IReadOnlyList<string> labels, float[] weight, float[] bias, int hiddenSize)
    {
        ArgumentNullException.ThrowIfNull(labels);
        Layer = new DenseLayer("classifier", weight, bias, hiddenSize);
        if (labels.Count != Layer.OutputSize)
        {
            throw new KenException(string.Create(CultureInfo.InvariantCulture,
                $"the task names {labels.Count} labels but its classifier has {Layer.OutputSize} outputs; rebuild the delta with matching labels"));
        }

        _labels = [.. labels];
    }

    public DenseLayer Layer { get; }

    public IReadOnlyList<string> Labels => _labels;

    public int LabelCount => _labels.Length;

    public int HiddenSize => Layer.InputSize;

    /// <summary>Writes label probabilities, <c>[batchSize, LabelCount]</c>, for the pooled vectors.</summary>
    public void ComputeScores(ReadOnlySpan<float> pooled, int batchSize, Span<float> scores)
    {
        Layer.Apply(pooled, batchSize, scores);
        for (var b = 0; b < batchSize; b++)
        {
            Softmax(scores.Slice(b * LabelCount, LabelCount));
        }
    }

    /// <summary>Classifies the pooled vectors (<c>[batchSize, HiddenSize]</c>), one result per text.</summary>
    public ClassificationResult[] Classify(ReadOnlySpan<float> pooled, int batchSize)
    {
        var results = new ClassificationResult[batchSize];
        for (var b = 0; b < batchSize; b++)
        {
            // Each result keeps its own scores array because it outlives this call in the reply.
            var scores = new float[LabelCount];
            Layer.ApplyRow(pooled.Slice(b * HiddenSize, HiddenSize), scores);
            Softmax(scores);
            var best = TensorPrimitives.IndexOfMax<float>(scores);
            results[b] = new ClassificationResult(best, _labels[best], scores[best], scores);
        }

        return results;
    }

    /// <summary>Softmax in place; subtracting the maximum first keeps exp from overflowing on large logits.</summary>
    public static void Softmax(Span<float> logits)
    {
        if (logits.IsEmpty)
        {
            return;
        }

        var max = TensorPrimitives.Max<float>(logits);
        TensorPrimitives.Subtract(logits, max, logits);
        TensorPrimitives.Exp(logits, logits);
        var sum = TensorPrimitives.Sum<float>(logits);
        TensorPrimitives.Divide(logits, sum, logits);
    }
}
