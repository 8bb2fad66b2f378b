using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Onnx;
using Ken.Runtime.Tokenization;
using Ken.Training.Encoder;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using static TorchSharp.torch;

namespace Ken.Training.Tests;

/// <summary>Training and serving agree: the TorchSharp encoder over a checkpoint's weights and ONNX Runtime over its graph.</summary>
public sealed class BertEncoderTests
{
    private static readonly string[] Texts =
    [
        "the quick brown fox jumps over the lazy dog",
        "win a free cruise now, click here",
        "state of the union",
    ];

    [Theory]
    [InlineData("minilm")]
    [InlineData("arctic-xs")]
    public void The_torch_forward_equals_the_onnx_runtime_forward_of_the_same_weights_within_1e_4(string model)
    {
        var files = DefaultModels.Get(model);
        using var checkpoint = OnnxCheckpoint.Open(files.ModelPath);
        using var encoder = BertEncoder.FromCheckpoint(checkpoint);
        Assert.Equal(6, encoder.Shape.Layers);
        Assert.Equal(384, encoder.Shape.Hidden);

        var tokenizer = BertTextTokenizer.Load(files.VocabPath, maxSequenceLength: 128, maxBatchSize: Texts.Length);
        var batch = tokenizer.CreateBatch();
        tokenizer.Tokenize(Texts, batch);
        long[] shape = [batch.BatchSize, batch.SequenceLength];
        var ids = batch.InputIds.ToArray();
        var mask = batch.AttentionMask.ToArray();
        var types = batch.TokenTypeIds.ToArray();

        float[] expected;
        using (var session = new InferenceSession(files.ModelPath))
        {
            var inputs = new Dictionary<string, OrtValue>(StringComparer.Ordinal)
            {
                ["input_ids"] = OrtValue.CreateTensorValueFromMemory(ids, shape),
                ["attention_mask"] = OrtValue.CreateTensorValueFromMemory(mask, shape),
            };
            if (session.InputMetadata.ContainsKey("token_type_ids"))
            {
                inputs["token_type_ids"] = OrtValue.CreateTensorValueFromMemory(types, shape);
            }

            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, inputs, ["last_hidden_state"]);
            expected = outputs[0].GetTensorDataAsSpan<float>().ToArray();
            foreach (var value in inputs.Values)
            {
                value.Dispose();
            }
        }

        float[] actual;
        using (no_grad())
        {
            using var hidden = encoder.forward(tensor(ids, shape), tensor(mask, shape), tensor(types, shape));
            actual = hidden.data<float>().ToArray();
        }

        // Padding positions are compared too: both run them through the same layers.
        Assert.Equal(expected.Length, actual.Length);
        var worst = 0f;
        for (var i = 0; i < expected.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        }

        Assert.InRange(worst, 0f, 1e-4f);
    }

    [Fact]
    public void A_checkpoint_that_is_not_a_bert_encoder_is_refused_by_name()
    {
        using var checkpoint = new Ken.TestSupport.InMemoryCheckpoint("tiny").Add("dense.weight", [2, 2], new float[4]);
        var error = Assert.Throws<Ken.Format.KenException>(() => BertEncoder.FromCheckpoint(checkpoint));
        Assert.Contains("embeddings.word_embeddings.weight", error.Message, StringComparison.Ordinal);
    }
}
