using Ken.Format;
using Ken.Format.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ken.Training.Encoder;

/// <summary>
/// A BERT-family encoder in TorchSharp, its parameters read from a checkpoint Ken reads (default models,
/// safetensors, ONNX, Hugging Face folders) under their canonical names, so that what is trained here is
/// what <c>ken prune</c> compares and the server patches. <see cref="forward"/> gives the last hidden
/// states <c>[batch, tokens, hidden]</c>: embeddings (word + position + token type, LayerNorm), then per
/// layer self-attention and a GELU feed-forward block, each with a residual LayerNorm, as Hugging Face's
/// <c>BertModel</c> and the ONNX graphs Ken serves compute them.
/// </summary>
public sealed class BertEncoder : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly Dictionary<string, Parameter> _byName = new(StringComparer.Ordinal);

    private BertEncoder(EncoderShape shape)
        : base(nameof(BertEncoder))
    {
        Shape = shape;
    }

    public EncoderShape Shape { get; }

    /// <summary>The trainable parameters by canonical name (<c>encoder.layer.0.attention.self.query.weight</c>, ...).</summary>
    public IReadOnlyDictionary<string, Parameter> Named => _byName;

    /// <summary>Builds the encoder from <paramref name="checkpoint"/>'s weights (copied; the checkpoint can be disposed after).</summary>
    public static BertEncoder FromCheckpoint(ICheckpoint checkpoint, int? heads = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var encoder = new BertEncoder(EncoderShape.Of(checkpoint, heads));
        foreach (var name in ParameterNames(encoder.Shape.Layers))
        {
            if (!checkpoint.TryGetInfo(name, out var info))
            {
                throw new KenException($"{checkpoint.Source} has no tensor {name}, which a BERT-family encoder needs.");
            }

            var values = new float[info.ElementCount];
            checkpoint.ReadFloat32(name, values);
            var parameter = new Parameter(tensor(values, [.. info.Shape]));
            encoder._byName[name] = parameter;
            encoder.register_parameter(name.Replace('.', '_'), parameter);
        }

        return encoder;
    }

    /// <summary>The canonical names of every parameter of an encoder of <paramref name="layers"/> layers.</summary>
    public static IEnumerable<string> ParameterNames(int layers)
    {
        yield return "embeddings.word_embeddings.weight";
        yield return "embeddings.position_embeddings.weight";
        yield return "embeddings.token_type_embeddings.weight";
        yield return "embeddings.LayerNorm.weight";
        yield return "embeddings.LayerNorm.bias";
        for (var l = 0; l < layers; l++)
        {
            var p = $"encoder.layer.{l}.";
            foreach (var linear in (string[])["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense", "intermediate.dense", "output.dense"])
            {
                yield return p + linear + ".weight";
                yield return p + linear + ".bias";
            }

            yield return p + "attention.output.LayerNorm.weight";
            yield return p + "attention.output.LayerNorm.bias";
            yield return p + "output.LayerNorm.weight";
            yield return p + "output.LayerNorm.bias";
        }
    }

    /// <summary>Last hidden states of token ids <c>[batch, tokens]</c> (int64), with the attention mask and token types of the same shape.</summary>
    public override Tensor forward(Tensor inputIds, Tensor attentionMask, Tensor tokenTypeIds)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(attentionMask);
        ArgumentNullException.ThrowIfNull(tokenTypeIds);
        using var scope = NewDisposeScope();
        var batch = inputIds.shape[0];
        var tokens = inputIds.shape[1];
        var positions = arange(tokens, dtype: ScalarType.Int64, device: inputIds.device);
        var x = P("embeddings.word_embeddings.weight").index_select(0, inputIds.reshape(-1)).reshape(batch, tokens, Shape.Hidden)
            + P("embeddings.position_embeddings.weight").index_select(0, positions).unsqueeze(0)
            + P("embeddings.token_type_embeddings.weight").index_select(0, tokenTypeIds.reshape(-1)).reshape(batch, tokens, Shape.Hidden);
        x = Norm(x, "embeddings.LayerNorm");

        // Masked keys get the lowest float added before the softmax, as Hugging Face's BERT does.
        var keep = attentionMask.to_type(ScalarType.Float32).reshape(batch, 1, 1, tokens);
        var bias = (1.0f - keep) * float.MinValue;
        var scale = 1.0 / Math.Sqrt(Shape.HeadSize);
        for (var l = 0; l < Shape.Layers; l++)
        {
            var p = $"encoder.layer.{l}.";
            var q = Heads(Linear(x, p + "attention.self.query"), batch, tokens);
            var k = Heads(Linear(x, p + "attention.self.key"), batch, tokens);
            var v = Heads(Linear(x, p + "attention.self.value"), batch, tokens);
            var scores = (q.matmul(k.transpose(-1, -2)) * scale) + bias;
            var context = nn.functional.softmax(scores, -1).matmul(v).transpose(1, 2).reshape(batch, tokens, Shape.Hidden);
            x = Norm(Linear(context, p + "attention.output.dense") + x, p + "attention.output.LayerNorm");
            var inner = nn.functional.gelu(Linear(x, p + "intermediate.dense"));
            x = Norm(Linear(inner, p + "output.dense") + x, p + "output.LayerNorm");
        }

        return x.MoveToOuterDisposeScope();
    }

    private Parameter P(string name) => _byName[name];

    private Tensor Linear(Tensor x, string prefix) => nn.functional.linear(x, P(prefix + ".weight"), P(prefix + ".bias"));

    private Tensor Norm(Tensor x, string prefix) =>
        nn.functional.layer_norm(x, [Shape.Hidden], P(prefix + ".weight"), P(prefix + ".bias"), Shape.LayerNormEps);

    private Tensor Heads(Tensor x, long batch, long tokens) =>
        x.reshape(batch, tokens, Shape.Heads, Shape.HeadSize).transpose(1, 2);
}
