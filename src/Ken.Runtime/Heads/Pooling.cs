using System.Numerics.Tensors;

using Ken.Format.Deltas;

namespace Ken.Runtime.Heads;

/// <summary>
/// Turns the backbone's <c>last_hidden_state</c> (<c>[batch, sequence, hidden]</c> row-major) into one
/// vector per text (<c>[batch, hidden]</c>).
/// </summary>
public static class Pooling
{
    // sentence-transformers clamps the token count to this before dividing; kept for parity.
    private const float MinTokenCount = 1e-9f;

    /// <summary>
    /// Pools with <paramref name="mode"/>; <paramref name="pooler"/> is required for <see cref="PoolingMode.Pooler"/>
    /// (the task's <c>pooler.dense</c> layer, used when the backbone ONNX has no pooler output).
    /// </summary>
    public static void Pool(
        PoolingMode mode,
        ReadOnlySpan<float> lastHiddenState,
        ReadOnlySpan<long> attentionMask,
        int batchSize,
        int sequenceLength,
        int hiddenSize,
        Span<float> destination,
        DenseLayer? pooler = null,
        bool normalize = false)
    {
        switch (mode)
        {
            case PoolingMode.Cls:
                Cls(lastHiddenState, batchSize, sequenceLength, hiddenSize, destination);
                break;
            case PoolingMode.Mean:
                Mean(lastHiddenState, attentionMask, batchSize, sequenceLength, hiddenSize, destination);
                break;
            case PoolingMode.Pooler:
                Pooler(lastHiddenState, batchSize, sequenceLength, hiddenSize, pooler ?? throw new ArgumentNullException(nameof(pooler), "pooler pooling needs the task's pooler.dense layer"), destination);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(mode), mode, null);
        }

        if (normalize)
        {
            NormalizeL2(destination, batchSize, hiddenSize);
        }
    }

    /// <summary>Copies each text's first ([CLS]) hidden state.</summary>
    public static void Cls(ReadOnlySpan<float> lastHiddenState, int batchSize, int sequenceLength, int hiddenSize, Span<float> destination)
    {
        CheckShapes(lastHiddenState, batchSize, sequenceLength, hiddenSize, destination);
        var stride = sequenceLength * hiddenSize;
        for (var b = 0; b < batchSize; b++)
        {
            lastHiddenState.Slice(b * stride, hiddenSize).CopyTo(destination.Slice(b * hiddenSize, hiddenSize));
        }
    }

    /// <summary>Averages each text's hidden states over the positions whose attention mask is set.</summary>
    public static void Mean(ReadOnlySpan<float> lastHiddenState, ReadOnlySpan<long> attentionMask, int batchSize, int sequenceLength, int hiddenSize, Span<float> destination)
    {
        CheckShapes(lastHiddenState, batchSize, sequenceLength, hiddenSize, destination);
        if (attentionMask.Length < batchSize * sequenceLength)
        {
            throw new ArgumentException($"attention mask has {attentionMask.Length} values, [{batchSize}, {sequenceLength}] needs {batchSize * sequenceLength}", nameof(attentionMask));
        }

        var stride = sequenceLength * hiddenSize;
        for (var b = 0; b < batchSize; b++)
        {
            var sum = destination.Slice(b * hiddenSize, hiddenSize);
            sum.Clear();
            var mask = attentionMask.Slice(b * sequenceLength, sequenceLength);
            var count = 0;
            for (var t = 0; t < sequenceLength; t++)
            {
                if (mask[t] != 0)
                {
                    TensorPrimitives.Add(sum, lastHiddenState.Slice(b * stride + t * hiddenSize, hiddenSize), sum);
                    count++;
                }
            }

            TensorPrimitives.Divide(sum, Math.Max(count, MinTokenCount), sum);
        }
    }

    /// <summary>BERT's pooler: <c>tanh(W · h_cls + b)</c> per text.</summary>
    public static void Pooler(ReadOnlySpan<float> lastHiddenState, int batchSize, int sequenceLength, int hiddenSize, DenseLayer pooler, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(pooler);
        CheckShapes(lastHiddenState, batchSize, sequenceLength, hiddenSize, destination);
        if (pooler.InputSize != hiddenSize || pooler.OutputSize != hiddenSize)
        {
            throw new ArgumentException($"{pooler.Name} maps {pooler.InputSize} to {pooler.OutputSize} values; the pooler must map hidden size {hiddenSize} to itself", nameof(pooler));
        }

        var stride = sequenceLength * hiddenSize;
        for (var b = 0; b < batchSize; b++)
        {
            var output = destination.Slice(b * hiddenSize, hiddenSize);
            pooler.ApplyRow(lastHiddenState.Slice(b * stride, hiddenSize), output);
            TensorPrimitives.Tanh(output, output);
        }
    }

    /// <summary>Scales each of <paramref name="count"/> vectors to unit Euclidean length; zero vectors stay zero.</summary>
    public static void NormalizeL2(Span<float> vectors, int count, int dimension)
    {
        if (vectors.Length < count * dimension)
        {
            throw new ArgumentException($"{count} vectors of {dimension} need {count * dimension} values, got {vectors.Length}", nameof(vectors));
        }

        for (var i = 0; i < count; i++)
        {
            var vector = vectors.Slice(i * dimension, dimension);
            var norm = TensorPrimitives.Norm<float>(vector);

            // Same epsilon as torch.nn.functional.normalize, so a zero vector is left as is rather than NaN.
            TensorPrimitives.Divide(vector, Math.Max(norm, 1e-12f), vector);
        }
    }

    private static void CheckShapes(ReadOnlySpan<float> lastHiddenState, int batchSize, int sequenceLength, int hiddenSize, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(sequenceLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(hiddenSize, 1);
        if (lastHiddenState.Length < batchSize * sequenceLength * hiddenSize)
        {
            throw new ArgumentException($"last_hidden_state has {lastHiddenState.Length} values, [{batchSize}, {sequenceLength}, {hiddenSize}] needs {batchSize * sequenceLength * hiddenSize}", nameof(lastHiddenState));
        }

        if (destination.Length < batchSize * hiddenSize)
        {
            throw new ArgumentException($"destination has {destination.Length} values, [{batchSize}, {hiddenSize}] needs {batchSize * hiddenSize}", nameof(destination));
        }
    }
}
