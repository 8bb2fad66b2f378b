using Ken.Format;
using Ken.Format.Checkpoints;
using Ken.Training.Encoder;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ken.Training.FineTuning;

/// <summary>
/// A sequence classifier: the <see cref="BertEncoder"/>, a pooling (<c>pooler</c>: tanh of a dense layer on the
/// CLS state, as BERT's pooler; <c>cls</c>: the CLS state; <c>mean</c>: the mean of the unmasked states), and
/// a dense layer to the label logits, as Hugging Face's <c>BertForSequenceClassification</c> (no dropout:
/// training here is deterministic for a seed). The pooler starts from the base's <c>pooler.dense</c> when it has
/// one, else, like the classifier, from N(0, 0.02) with zero biases.
/// </summary>
public sealed class ClassifierModel : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private const double InitStd = 0.02;
    private readonly Parameter? _poolerWeight;
    private readonly Parameter? _poolerBias;
    private readonly Parameter _classifierWeight;
    private readonly Parameter _classifierBias;

    public ClassifierModel(BertEncoder encoder, ICheckpoint baseModel, string pooling, int labels, long seed)
        : base(nameof(ClassifierModel))
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(baseModel);
        if (pooling is not ("pooler" or "cls" or "mean"))
        {
            throw new KenException($"pooling '{pooling}' is not one of pooler, cls, mean.");
        }

        Encoder = encoder;
        Pooling = pooling;
        var hidden = encoder.Shape.Hidden;
        var generator = new Generator((ulong)seed);
        if (pooling == "pooler")
        {
            _poolerWeight = new Parameter(Read(baseModel, "pooler.dense.weight", [hidden, hidden]) ?? (normal(0, InitStd, [hidden, hidden], generator: generator)));
            _poolerBias = new Parameter(Read(baseModel, "pooler.dense.bias", [hidden]) ?? zeros(hidden));
            register_parameter("pooler_weight", _poolerWeight);
            register_parameter("pooler_bias", _poolerBias);
        }

        _classifierWeight = new Parameter(normal(0, InitStd, [labels, hidden], generator: generator));
        _classifierBias = new Parameter(zeros(labels));
        register_parameter("classifier_weight", _classifierWeight);
        register_parameter("classifier_bias", _classifierBias);
        register_module("encoder", encoder);
    }

    public BertEncoder Encoder { get; }

    public string Pooling { get; }

    /// <summary>
    /// The head's parameters by the names a delta gives them: <c>pooler.dense.weight</c>/<c>bias</c> (a patched
    /// tensor of the backbone when the base has a pooler) and <c>classifier.weight</c>/<c>bias</c> (the head).
    /// </summary>
    public IReadOnlyDictionary<string, Parameter> HeadParameters
    {
        get
        {
            var head = new Dictionary<string, Parameter>(StringComparer.Ordinal)
            {
                ["classifier.weight"] = _classifierWeight,
                ["classifier.bias"] = _classifierBias,
            };
            if (_poolerWeight is not null && _poolerBias is not null)
            {
                head["pooler.dense.weight"] = _poolerWeight;
                head["pooler.dense.bias"] = _poolerBias;
            }

            return head;
        }
    }

    /// <summary>The head's tensors under the names a fine-tuned Hugging Face folder gives them.</summary>
    public IEnumerable<(string Name, Tensor Value)> HeadTensors()
    {
        if (_poolerWeight is not null && _poolerBias is not null)
        {
            yield return ("bert.pooler.dense.weight", _poolerWeight);
            yield return ("bert.pooler.dense.bias", _poolerBias);
        }

        yield return ("classifier.weight", _classifierWeight);
        yield return ("classifier.bias", _classifierBias);
    }

    /// <summary>Label logits <c>[batch, labels]</c>.</summary>
    public override Tensor forward(Tensor inputIds, Tensor attentionMask, Tensor tokenTypeIds)
    {
        ArgumentNullException.ThrowIfNull(attentionMask);
        using var scope = NewDisposeScope();
        var states = Encoder.forward(inputIds, attentionMask, tokenTypeIds);
        Tensor pooled;
        if (Pooling == "mean")
        {
            var mask = attentionMask.to_type(ScalarType.Float32).unsqueeze(-1);
            pooled = (states * mask).sum(1) / mask.sum(1).clamp_min(1e-9);
        }
        else
        {
            pooled = states.select(1, 0);
            if (_poolerWeight is not null)
            {
                pooled = nn.functional.linear(pooled, _poolerWeight, _poolerBias).tanh();
            }
        }

        return nn.functional.linear(pooled, _classifierWeight, _classifierBias).MoveToOuterDisposeScope();
    }

    private static Tensor? Read(ICheckpoint checkpoint, string name, long[] shape)
    {
        if (!checkpoint.TryGetInfo(name, out var info) || !info.Shape.SequenceEqual(shape))
        {
            return null;
        }

        var values = new float[info.ElementCount];
        checkpoint.ReadFloat32(name, values);
        return tensor(values, shape);
    }
}
