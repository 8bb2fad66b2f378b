using Ken.Format;
using Ken.Format.Checkpoints;
using Ken.Format.Deltas;
using Ken.Runtime.Tokenization;
using Ken.Training.Encoder;
using Ken.Training.FineTuning;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ken.Training.Recovery;

/// <summary>
/// Recovery training of a classification delta: the model is the base with the delta applied (its kept
/// values and its head), and only the kept positions train. Every step zeroes the gradients of the unkept
/// positions before the optimizer moves anything, and after it puts the base values back at every unkept
/// position (AdamW's decoupled weight decay would otherwise move them), so they stay bit-exactly the base;
/// tensors the delta does not patch are frozen. The head (stored whole in the delta) trains in full.
/// <see cref="ToDelta"/> writes the recovered values under the delta's own masks.
/// </summary>
public sealed class MaskedRecovery : IDisposable
{
    private readonly KenDelta _delta;
    private readonly List<(string Name, Parameter Parameter, Tensor Keep, Tensor Frozen)> _patched = [];
    private readonly ClassifierModel _model;

    public MaskedRecovery(KenDelta delta, ICheckpoint baseModel)
    {
        ArgumentNullException.ThrowIfNull(delta);
        ArgumentNullException.ThrowIfNull(baseModel);
        if (delta.Metadata.Kind != TaskKind.Classification)
        {
            throw new KenException($"recovery trains a classifier on labelled texts; task '{delta.Metadata.Task}' is an embedding task.");
        }

        _delta = delta;
        var encoder = BertEncoder.FromCheckpoint(baseModel);
        var pooling = KenDeltaMetadata.ToText(delta.Metadata.Pooling);
        _model = new ClassifierModel(encoder, baseModel, pooling, delta.Metadata.Labels.Count, seed: 0);
        var all = new Dictionary<string, Parameter>(encoder.Named, StringComparer.Ordinal);
        foreach (var (name, parameter) in _model.HeadParameters)
        {
            all[name] = parameter;
        }

        using var noGrad = no_grad();
        foreach (var head in delta.HeadTensors)
        {
            if (!all.TryGetValue(head.Name, out var parameter) || !parameter.shape.SequenceEqual(head.Shape))
            {
                throw new KenException($"the delta's head tensor {head.Name} {Shape(head.Shape)} has no place in a {pooling} classifier over this base.");
            }

            parameter.copy_(tensor(head.Data, [.. head.Shape]));
        }

        var patchedNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var patched in delta.PatchedTensors)
        {
            if (pooling != "pooler" && patched.Name.StartsWith("pooler.", StringComparison.Ordinal))
            {
                // A cls or mean task does not use the pooler it carries: kept as it is, not trained.
                continue;
            }

            if (!all.TryGetValue(patched.Name, out var parameter) || !parameter.shape.SequenceEqual(patched.Shape))
            {
                throw new KenException($"the delta patches {patched.Name} {Shape(patched.Shape)}, which this base's encoder does not have in that shape.");
            }

            var baseValues = parameter.detach().data<float>().ToArray();
            var weights = (float[])baseValues.Clone();
            patched.ApplyTo(weights);
            var keep = new float[weights.Length];
            for (var i = 0; i < keep.Length; i++)
            {
                keep[i] = MaskBits.IsSet(patched.Mask, i) ? 1f : 0f;
            }

            var shape = parameter.shape;
            var keepTensor = tensor(keep, shape);
            parameter.copy_(tensor(weights, shape));
            _patched.Add((patched.Name, parameter, keepTensor, tensor(baseValues, shape) * (1f - keepTensor)));
            patchedNames.Add(patched.Name);
        }

        // What the delta does not patch stays the base: frozen.
        foreach (var (name, parameter) in encoder.Named)
        {
            if (!patchedNames.Contains(name))
            {
                parameter.requires_grad = false;
            }
        }

        if (_model.HeadParameters.TryGetValue("pooler.dense.weight", out var poolerWeight) && !patchedNames.Contains("pooler.dense.weight"))
        {
            poolerWeight.requires_grad = false;
            _model.HeadParameters["pooler.dense.bias"].requires_grad = false;
        }
    }

    public ClassifierModel Model => _model;

    /// <summary>Trains the kept positions on <paramref name="rows"/> (labels indexed as the delta's labels); returns each step's loss.</summary>
    public IReadOnlyList<double> Train(
        IReadOnlyList<LabeledText> rows, BertTextTokenizer tokenizer, FineTuneOptions options, IProgress<TrainingStep>? progress = null, CancellationToken cancellationToken = default)
    {
        var tuner = new FineTuner(_model, tokenizer, options);
        return tuner.Train(rows, progress, MaskGradients, RestoreUnkept, cancellationToken);
    }

    /// <summary>How many unkept positions differ from the base, bit for bit (0 after any training).</summary>
    public long UnkeptChanged()
    {
        long changed = 0;
        using var noGrad = no_grad();
        foreach (var (_, parameter, keep, frozen) in _patched)
        {
            var values = parameter.detach().data<float>().ToArray();
            var kept = keep.data<float>().ToArray();
            var basePart = frozen.data<float>().ToArray();
            for (var i = 0; i < values.Length; i++)
            {
                if (kept[i] == 0f && BitConverter.SingleToInt32Bits(values[i]) != BitConverter.SingleToInt32Bits(basePart[i]))
                {
                    changed++;
                }
            }
        }

        return changed;
    }

    /// <summary>The delta with the recovered values (same masks, dtypes and fingerprints) and the trained head.</summary>
    public KenDelta ToDelta()
    {
        var patched = new List<PatchedTensor>(_delta.PatchedTensors.Count);
        var byName = _patched.ToDictionary(p => p.Name, p => p.Parameter, StringComparer.Ordinal);
        foreach (var original in _delta.PatchedTensors)
        {
            if (!byName.TryGetValue(original.Name, out var parameter))
            {
                patched.Add(original);
                continue;
            }

            var weights = parameter.detach().data<float>().ToArray();
            var values = new float[original.KeptCount];
            MaskBits.Gather(original.Mask, weights, values);
            patched.Add(new PatchedTensor(original.Name, original.Shape, original.Mask, values, original.ValuesDType, original.BaseFingerprint));
        }

        var heads = _model.HeadParameters;
        var headTensors = _delta.HeadTensors
            .Select(h => new HeadTensor(h.Name, h.Shape, heads[h.Name].detach().data<float>().ToArray(), h.DType))
            .ToList();
        return _delta with { PatchedTensors = patched, HeadTensors = headTensors };
    }

    public void Dispose()
    {
        foreach (var (_, _, keep, frozen) in _patched)
        {
            keep.Dispose();
            frozen.Dispose();
        }

        _model.Dispose();
    }

    private static string Shape(IReadOnlyList<long> shape) => "[" + string.Join(", ", shape) + "]";

    private void MaskGradients()
    {
        using var noGrad = no_grad();
        foreach (var (_, parameter, keep, _) in _patched)
        {
            parameter.grad?.mul_(keep);
        }
    }

    private void RestoreUnkept()
    {
        using var noGrad = no_grad();
        foreach (var (_, parameter, keep, frozen) in _patched)
        {
            parameter.mul_(keep).add_(frozen);
        }
    }
}
