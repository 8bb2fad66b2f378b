using Ken.Format.Checkpoints.Onnx.Proto;

namespace Ken.Format.Checkpoints.Onnx;

/// <summary>
/// Recovers Hugging Face parameter names for ONNX initializers that the exporter renamed.
/// </summary>
/// <remarks>
/// Rules, in order:
/// <list type="number">
/// <item>An initializer whose name is a parameter name (see <see cref="IsParameterName"/>) keeps it
/// and its layout: the exporter saved the module's own tensor.</item>
/// <item>A 2-D initializer that is a MatMul's second input, whose output feeds an Add whose other input
/// is an initializer named <c>X.bias</c>, becomes <c>X.weight</c>, transposed to <c>[out, in]</c>.</item>
/// <item>A 2-D initializer that is a Gemm's second input with an initializer <c>X.bias</c> as third
/// input becomes <c>X.weight</c>, transposed unless <c>transB = 1</c>.</item>
/// <item>Anything else, and any initializer whose candidates disagree or collide with another
/// tensor's name, keeps its ONNX name and layout.</item>
/// </list>
/// </remarks>
internal static class OnnxCanonicalNames
{
    private const string BiasSuffix = ".bias";

    /// <summary>
    /// A parameter name is a dotted path of at least two non-empty segments of ASCII letters, digits and
    /// underscores (<c>encoder.layer.0.output.dense.bias</c>, <c>2.linear.weight</c> from an
    /// <c>nn.Sequential</c>). Generated names (<c>927</c>, <c>onnx::MatMul_788</c>,
    /// <c>/encoder/layer.0/Add_output_0</c>) are not.
    /// </summary>
    public static bool IsParameterName(string name)
    {
        var segments = 1;
        var segmentLength = 0;
        foreach (var c in name)
        {
            if (c == '.')
            {
                if (segmentLength == 0)
                {
                    return false;
                }

                segments++;
                segmentLength = 0;
            }
            else if (char.IsAsciiLetterOrDigit(c) || c == '_')
            {
                segmentLength++;
            }
            else
            {
                return false;
            }
        }

        return segments >= 2 && segmentLength > 0;
    }

    /// <summary>
    /// Returns, for each renamed initializer, its canonical name and whether it is transposed.
    /// <paramref name="floatInitializers"/> maps names of float initializers to their dimensions.
    /// </summary>
    public static Dictionary<string, (string Name, bool Transposed)> Resolve(
        GraphProto graph, IReadOnlyDictionary<string, long[]> floatInitializers)
    {
        var allInitializers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var initializer in graph.Initializer)
        {
            allInitializers.Add(initializer.Name);
        }

        var consumers = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var input in node.Input)
            {
                if (!consumers.TryGetValue(input, out var list))
                {
                    consumers[input] = list = [];
                }

                list.Add(node);
            }
        }

        // Several nodes may share one weight; each must propose the same name for it to stick.
        var candidates = new Dictionary<string, (string Name, bool Transposed)?>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            if (node.Domain.Length != 0 && node.Domain != "ai.onnx")
            {
                continue;
            }

            (string Name, bool Transposed)? candidate = node.OpType switch
            {
                "MatMul" => FromMatMul(node, consumers, floatInitializers),
                "Gemm" => FromGemm(node, floatInitializers),
                _ => null,
            };
            if (candidate is null)
            {
                continue;
            }

            var weight = node.Input[1];
            if (candidates.TryGetValue(weight, out var earlier) && earlier != candidate)
            {
                candidates[weight] = null;
            }
            else
            {
                candidates[weight] = candidate;
            }
        }

        var nameCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var candidate in candidates.Values)
        {
            if (candidate is { } c)
            {
                nameCounts[c.Name] = nameCounts.GetValueOrDefault(c.Name) + 1;
            }
        }

        var resolved = new Dictionary<string, (string Name, bool Transposed)>(StringComparer.Ordinal);
        foreach (var (weight, candidate) in candidates)
        {
            if (candidate is { } c && nameCounts[c.Name] == 1 && !allInitializers.Contains(c.Name))
            {
                resolved[weight] = c;
            }
        }

        return resolved;
    }

    private static (string Name, bool Transposed)? FromMatMul(
        NodeProto node,
        Dictionary<string, List<NodeProto>> consumers,
        IReadOnlyDictionary<string, long[]> floatInitializers)
    {
        if (node.Input.Count != 2 || node.Output.Count == 0 || !IsRenamableMatrix(node.Input[1], floatInitializers))
        {
            return null;
        }

        if (!consumers.TryGetValue(node.Output[0], out var next))
        {
            return null;
        }

        string? found = null;
        foreach (var add in next)
        {
            if (add.OpType != "Add" || add.Input.Count != 2)
            {
                continue;
            }

            var other = add.Input[0] == node.Output[0] ? add.Input[1] : add.Input[0];
            if (IsBias(other, floatInitializers))
            {
                if (found is not null && found != other)
                {
                    return null;
                }

                found = other;
            }
        }

        return found is null ? null : (WeightName(found), true);
    }

    private static (string Name, bool Transposed)? FromGemm(
        NodeProto node, IReadOnlyDictionary<string, long[]> floatInitializers)
    {
        if (node.Input.Count < 3 || !IsRenamableMatrix(node.Input[1], floatInitializers) ||
            !IsBias(node.Input[2], floatInitializers))
        {
            return null;
        }

        var transB = false;
        foreach (var attribute in node.Attribute)
        {
            if (attribute.Name == "transB")
            {
                transB = attribute.I != 0;
            }
        }

        return (WeightName(node.Input[2]), !transB);
    }

    private static bool IsRenamableMatrix(string name, IReadOnlyDictionary<string, long[]> floatInitializers) =>
        !IsParameterName(name) && floatInitializers.TryGetValue(name, out var dims) && dims.Length == 2;

    private static bool IsBias(string name, IReadOnlyDictionary<string, long[]> floatInitializers) =>
        floatInitializers.ContainsKey(name) && name.EndsWith(BiasSuffix, StringComparison.Ordinal) && IsParameterName(name);

    private static string WeightName(string biasName) => string.Concat(biasName.AsSpan(0, biasName.Length - BiasSuffix.Length), ".weight");
}
