using System.Runtime.InteropServices;
using Google.Protobuf;
using Ken.Format.Checkpoints.Onnx.Proto;

namespace Ken.Format.Checkpoints.Onnx;

/// <summary>
/// Rewrites a parsed ONNX model for the runtime: weights the server owns become graph inputs, or a
/// model is re-serialized with other weights baked in. The source model is never modified.
/// </summary>
public static class OnnxModelRewriter
{
    private const int FloatElementType = (int)TensorProto.Types.DataType.Float;

    /// <summary>
    /// Serializes a copy of <paramref name="model"/> in which the FLOAT initializers named
    /// <paramref name="onnxNames"/> (ONNX names) are graph inputs of fixed shape instead, so that a
    /// caller can bind its own buffers to them.
    /// </summary>
    public static byte[] PromoteInitializersToInputs(OnnxCheckpoint model, IReadOnlyCollection<string> onnxNames)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(onnxNames);
        var wanted = new HashSet<string>(onnxNames, StringComparer.Ordinal);
        var clone = model.CopyModel(initializer => wanted.Contains(initializer.Name));
        var graph = clone.Graph;

        // IR < 4 lists initializers among the inputs too; such an input already exists and must not be doubled.
        var existingInputs = new HashSet<string>(StringComparer.Ordinal);
        foreach (var input in graph.Input)
        {
            existingInputs.Add(input.Name);
        }

        var found = new HashSet<string>(StringComparer.Ordinal);
        for (var i = graph.Initializer.Count - 1; i >= 0; i--)
        {
            var initializer = graph.Initializer[i];
            if (!wanted.Contains(initializer.Name))
            {
                continue;
            }

            if (initializer.DataType != FloatElementType)
            {
                throw new KenException(
                    $"{model.ModelPath}: initializer '{initializer.Name}' is not float32, so it cannot be bound as a float32 weight buffer; export the model in float32.");
            }

            found.Add(initializer.Name);
            graph.Initializer.RemoveAt(i);
            if (!existingInputs.Contains(initializer.Name))
            {
                graph.Input.Add(FloatInput(initializer.Name, initializer.Dims));
            }
        }

        foreach (var name in wanted)
        {
            if (!found.Contains(name))
            {
                throw new KenException($"{model.ModelPath} has no initializer '{name}' to turn into a graph input; check the name against the model's mappings.");
            }
        }

        return clone.ToByteArray();
    }

    /// <summary>
    /// Serializes a copy of <paramref name="model"/> whose initializers hold
    /// <paramref name="canonicalWeights"/> (canonical names and layout, float32); tensors not named
    /// keep their values. Transposed mappings are written back in the graph's layout.
    /// </summary>
    public static byte[] WithInitializers(OnnxCheckpoint model, IReadOnlyDictionary<string, float[]> canonicalWeights)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(canonicalWeights);
        var replaced = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in canonicalWeights.Keys)
        {
            if (model.TryGetMapping(name, out var mapping))
            {
                replaced.Add(mapping.OnnxName);
            }
        }

        var clone = model.CopyModel(initializer => replaced.Contains(initializer.Name) && initializer.DataType == FloatElementType);
        var byOnnxName = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var initializer in clone.Graph.Initializer)
        {
            byOnnxName[initializer.Name] = initializer;
        }

        foreach (var (name, values) in canonicalWeights)
        {
            if (!model.TryGetMapping(name, out var mapping))
            {
                throw new KenException($"{model.ModelPath} has no tensor '{name}'; check the name against the model's tensors.");
            }

            if (values.LongLength != mapping.Info.ElementCount)
            {
                throw new ArgumentException(
                    $"tensor '{name}' has {mapping.Info.ElementCount} elements {mapping.Info.ShapeText}, but {values.Length} values were given.",
                    nameof(canonicalWeights));
            }

            var initializer = byOnnxName[mapping.OnnxName];
            if (initializer.DataType != FloatElementType)
            {
                throw new KenException(
                    $"{model.ModelPath}: initializer '{initializer.Name}' is not float32; only float32 initializers can be replaced.");
            }

            var physical = values;
            if (mapping.Transposed)
            {
                // Canonical [out, in] is the transpose of the graph's [in, out].
                physical = new float[values.Length];
                MatrixTranspose.Transpose(values, physical, (int)mapping.Info.Shape[0], (int)mapping.Info.Shape[1]);
            }

            initializer.FloatData.Clear();
            initializer.ExternalData.Clear();
            initializer.ClearDataLocation();
            initializer.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(physical.AsSpan()));
        }

        return clone.ToByteArray();
    }

    private static ValueInfoProto FloatInput(string name, IEnumerable<long> dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
        {
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = dim });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = FloatElementType, Shape = shape } },
        };
    }
}
