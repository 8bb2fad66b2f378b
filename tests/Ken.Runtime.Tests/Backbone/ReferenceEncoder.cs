using Ken.Runtime.Heads;
using Ken.Runtime.Tokenization;
using Microsoft.ML.OnnxRuntime;

namespace Ken.Runtime.Tests.Backbone;

/// <summary>
/// The plain way to run an encoder: a fresh session over a model with its weights as initializers,
/// inputs passed per run. What the patched slots must agree with.
/// </summary>
internal static class ReferenceEncoder
{
    /// <summary>CLS-pooled, L2-normalized embeddings, <c>[texts, hidden]</c>.</summary>
    public static float[][] ClsNormalized(InferenceSession session, string vocabPath, IReadOnlyList<string> texts)
    {
        var tokenizer = BertTextTokenizer.Load(vocabPath, maxSequenceLength: 512, maxBatchSize: texts.Count);
        var batch = tokenizer.CreateBatch();
        tokenizer.Tokenize(texts, batch);
        long[] shape = [batch.BatchSize, batch.SequenceLength];
        var inputs = new Dictionary<string, OrtValue>(StringComparer.Ordinal)
        {
            ["input_ids"] = OrtValue.CreateTensorValueFromMemory(batch.InputIds.ToArray(), shape),
            ["attention_mask"] = OrtValue.CreateTensorValueFromMemory(batch.AttentionMask.ToArray(), shape),
        };
        if (session.InputMetadata.ContainsKey("token_type_ids"))
        {
            inputs["token_type_ids"] = OrtValue.CreateTensorValueFromMemory(batch.TokenTypeIds.ToArray(), shape);
        }

        try
        {
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, inputs, ["last_hidden_state"]);
            var hidden = outputs[0].GetTensorDataAsSpan<float>();
            var hiddenSize = (int)outputs[0].GetTensorTypeAndShape().Shape[2];
            var pooled = new float[batch.BatchSize * hiddenSize];
            Pooling.Cls(hidden, batch.BatchSize, batch.SequenceLength, hiddenSize, pooled);
            Pooling.NormalizeL2(pooled, batch.BatchSize, hiddenSize);
            var result = new float[batch.BatchSize][];
            for (var b = 0; b < result.Length; b++)
            {
                result[b] = pooled.AsSpan(b * hiddenSize, hiddenSize).ToArray();
            }

            return result;
        }
        finally
        {
            foreach (var value in inputs.Values)
            {
                value.Dispose();
            }
        }
    }

    public static float MaxAbsDiff(IReadOnlyList<float[]> expected, IReadOnlyList<float[]> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        var max = 0f;
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Length, actual[i].Length);
            for (var j = 0; j < expected[i].Length; j++)
            {
                max = Math.Max(max, Math.Abs(expected[i][j] - actual[i][j]));
            }
        }

        return max;
    }
}
