using System.Globalization;
using System.Numerics.Tensors;
using Ken.Format;
using Ken.Format.Deltas;
using Ken.Runtime.Heads;
using Ken.Runtime.Patching;
using Ken.Runtime.Tasks;

namespace Ken.Runtime.Backbone;

/// <summary>
/// Validates a delta against the backbone and converts it once into physical patches, so that every
/// later swap is a plain streaming pass with no layout work.
/// </summary>
internal sealed class DeltaBinder
{
    private const string ClassifierWeight = "classifier.weight";
    private const string ClassifierBias = "classifier.bias";
    private const string PoolerWeight = "pooler.dense.weight";
    private const string PoolerBias = "pooler.dense.bias";

    private readonly IReadOnlyDictionary<string, BackboneTensor> _tensors;
    private readonly int _hiddenSize;
    private readonly bool _graphHasPooler;
    private readonly string _baseName;

    public DeltaBinder(IReadOnlyDictionary<string, BackboneTensor> tensors, int hiddenSize, bool graphHasPooler, string baseName)
    {
        _tensors = tensors;
        _hiddenSize = hiddenSize;
        _graphHasPooler = graphHasPooler;
        _baseName = baseName;
    }

    public BoundDelta Bind(KenDelta delta)
    {
        ArgumentNullException.ThrowIfNull(delta);
        var task = delta.Metadata.Task;
        var targets = new BackboneTensor[delta.PatchedTensors.Count];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < targets.Length; i++)
        {
            targets[i] = Validate(task, delta.PatchedTensors[i], seen);
        }

        var heads = new Dictionary<string, HeadTensor>(StringComparer.Ordinal);
        foreach (var head in delta.HeadTensors)
        {
            if (head.Name is not (ClassifierWeight or ClassifierBias or PoolerWeight or PoolerBias))
            {
                throw new DeltaMismatchException(
                    $"delta '{task}' stores head tensor {head.Name}, which backbone {_baseName} neither has nor can use (only classifier.* and pooler.dense.* heads are served); "
                    + $"rebuild the delta with `ken prune --base {_baseName}`.");
            }

            heads[head.Name] = head;
        }

        var pooler = BindPooler(delta.Metadata, heads);
        var classifier = BindClassifier(delta.Metadata, heads);

        var patches = new PhysicalPatch[targets.Length];
        for (var i = 0; i < targets.Length; i++)
        {
            patches[i] = ToPhysical(delta.PatchedTensors[i], targets[i]);
        }

        long headBytes = 0;
        foreach (var head in heads.Values)
        {
            headBytes += head.Data.LongLength * sizeof(float);
        }

        // Largest first: the parallel patcher then never ends waiting on one big tensor started last.
        Array.Sort(patches, static (a, b) => b.ElementCount.CompareTo(a.ElementCount));
        var usesGraphPooler = delta.Metadata.Pooling == PoolingMode.Pooler && pooler is null;
        var spec = new TaskSpec(delta.Metadata, new TaskHeads(pooler, classifier, usesGraphPooler));
        return new BoundDelta(spec, new PatchSet(patches), headBytes);
    }

    private BackboneTensor Validate(string task, PatchedTensor patched, HashSet<string> seen)
    {
        var rebuild = $"rebuild it with `ken prune --base {_baseName}`";
        if (!_tensors.TryGetValue(patched.Name, out var tensor))
        {
            throw new DeltaMismatchException(
                $"delta '{task}' patches tensor {patched.Name}, which backbone {_baseName} does not have; the delta was built for another base, {rebuild}.");
        }

        if (!seen.Add(patched.Name))
        {
            throw new KenException($"delta '{task}' patches tensor {patched.Name} twice; {rebuild}.");
        }

        var shape = tensor.Mapping.Info.Shape;
        if (!ShapeEquals(shape, patched.Shape))
        {
            throw new DeltaMismatchException(
                $"delta '{task}' patches tensor {patched.Name} with shape [{string.Join(", ", patched.Shape)}] but backbone {_baseName} has {tensor.Mapping.Info.ShapeText}; {rebuild}.");
        }

        if (patched.BaseFingerprint != tensor.Fingerprint)
        {
            throw new DeltaMismatchException(
                $"delta '{task}' was built against another base: tensor {patched.Name} has fingerprint {TensorFingerprint.ToHex(tensor.Fingerprint)} in backbone {_baseName} "
                + $"but the delta expects {TensorFingerprint.ToHex(patched.BaseFingerprint)}; {rebuild}.");
        }

        if (!TensorPrimitives.IsFiniteAll<float>(patched.Values))
        {
            throw new KenException($"delta '{task}' holds NaN or infinity in tensor {patched.Name}; rebuild it from a valid checkpoint.");
        }

        return tensor;
    }

    private DenseLayer? BindPooler(KenDeltaMetadata metadata, Dictionary<string, HeadTensor> heads)
    {
        var hasWeight = heads.TryGetValue(PoolerWeight, out var weight);
        var hasBias = heads.TryGetValue(PoolerBias, out var bias);
        if (hasWeight != hasBias)
        {
            throw new KenException($"delta '{metadata.Task}' stores only one of {PoolerWeight} and {PoolerBias}; rebuild it with `ken prune --base {_baseName}`.");
        }

        if (metadata.Pooling != PoolingMode.Pooler)
        {
            return null;
        }

        if (hasWeight)
        {
            RequireShape(metadata.Task, weight!, _hiddenSize, _hiddenSize);
            return new DenseLayer("pooler.dense", weight!.Data, bias!.Data, _hiddenSize);
        }

        if (!_graphHasPooler)
        {
            throw new DeltaMismatchException(
                $"delta '{metadata.Task}' pools with the BERT pooler, but backbone {_baseName} has no pooler output and the delta stores no {PoolerWeight}; "
                + $"rebuild it with `ken prune --base {_baseName} --pooling cls` (or mean).");
        }

        return null;
    }

    private ClassificationHead? BindClassifier(KenDeltaMetadata metadata, Dictionary<string, HeadTensor> heads)
    {
        if (metadata.Kind != TaskKind.Classification)
        {
            return null;
        }

        if (!heads.TryGetValue(ClassifierWeight, out var weight) || !heads.TryGetValue(ClassifierBias, out var bias))
        {
            throw new KenException(
                $"classification delta '{metadata.Task}' has no {ClassifierWeight} and {ClassifierBias} head tensors; rebuild it from the fine-tuned classifier, or as --kind embedding.");
        }

        RequireShape(metadata.Task, weight, metadata.Labels.Count, _hiddenSize);
        return new ClassificationHead(metadata.Labels, weight.Data, bias.Data, _hiddenSize);
    }

    private void RequireShape(string task, HeadTensor tensor, long rows, long columns)
    {
        if (tensor.Shape.Count != 2 || tensor.Shape[0] != rows || tensor.Shape[1] != columns)
        {
            throw new DeltaMismatchException(string.Create(CultureInfo.InvariantCulture,
                $"delta '{task}' stores {tensor.Name} with shape [{string.Join(", ", tensor.Shape)}], but backbone {_baseName} needs [{rows}, {columns}]; rebuild it with `ken prune --base {_baseName}` and matching labels."));
        }
    }

    private static bool ShapeEquals(IReadOnlyList<long> a, IReadOnlyList<long> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Count; i++)
        {
            if (a[i] != b[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Canonical bitmaps walk <c>[out, in]</c>; a transposed weight lives as <c>[in, out]</c> in the buffer,
    /// so its bits and values are permuted once here into ascending physical order.
    /// </summary>
    private static PhysicalPatch ToPhysical(PatchedTensor patched, BackboneTensor tensor)
    {
        var count = tensor.ElementCount;
        if (!tensor.Mapping.Transposed)
        {
            return new PhysicalPatch(tensor.Index, tensor.Name, patched.Mask, patched.Values, count);
        }

        var rows = (int)tensor.Mapping.Info.Shape[0];
        var columns = (int)tensor.Mapping.Info.Shape[1];
        var mask = new byte[patched.Mask.Length];
        var dense = new float[count];
        var canonicalMask = patched.Mask;
        var values = patched.Values;
        var read = 0;
        for (var index = 0; index < count; index++)
        {
            if ((canonicalMask[index >> 3] & (1 << (index & 7))) == 0)
            {
                continue;
            }

            var (row, column) = Math.DivRem(index, columns);
            var physical = (column * rows) + row;
            mask[physical >> 3] |= (byte)(1 << (physical & 7));
            dense[physical] = values[read++];
        }

        var physicalValues = new float[values.Length];
        MaskBits.Gather(mask, dense, physicalValues);
        return new PhysicalPatch(tensor.Index, tensor.Name, mask, physicalValues, count);
    }
}
