using Ken.Format;
using Ken.Format.Checkpoints;

namespace Ken.Pruning.Pipeline;

/// <summary>
/// The tensors a prune looks at: base/fine-tuned pairs with equal shapes, and the fine-tuned-only
/// head tensors that are stored whole.
/// </summary>
internal sealed class PrunePlan
{
    private PrunePlan(IReadOnlyList<TensorPair> pairs, IReadOnlyList<TensorInfo> heads)
    {
        Pairs = pairs;
        Heads = heads;
    }

    public IReadOnlyList<TensorPair> Pairs { get; }

    public IReadOnlyList<TensorInfo> Heads { get; }

    public static PrunePlan Create(ICheckpoint baseModel, ICheckpoint finetuned, CheckpointNameMatch match)
    {
        var pairs = new List<TensorPair>(match.Pairs.Count);
        foreach (var pair in match.Pairs)
        {
            string baseName = pair.BaseName;
            string finetunedName = pair.FineTunedName;
            if (!baseModel.TryGetInfo(baseName, out var b) || !finetuned.TryGetInfo(finetunedName, out var f))
            {
                throw new InvalidOperationException($"matched tensor {baseName} is missing from its checkpoint");
            }

            if (!b.SameShape(f))
            {
                throw new KenException(
                    $"tensor {baseName} has shape {b.ShapeText} in the base ({baseModel.Source}) but {f.ShapeText} in the fine-tuned model "
                    + $"({finetuned.Source}, as {finetunedName}); both checkpoints must have the same architecture.");
            }

            pairs.Add(new TensorPair(b, f));
        }

        var heads = new List<TensorInfo>(match.HeadTensors.Count);
        foreach (var name in match.HeadTensors)
        {
            if (finetuned.TryGetInfo(name, out var info))
            {
                heads.Add(info);
            }
        }

        return new PrunePlan(pairs, heads);
    }
}
