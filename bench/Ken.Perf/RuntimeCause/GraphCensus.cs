using Ken.Format.Checkpoints.Onnx.Proto;

namespace Ken.Perf.RuntimeCause;

/// <summary>Node types of an ONNX graph as ONNX Runtime saved it after optimizing, counted.</summary>
internal sealed class GraphCensus
{
    private GraphCensus(Dictionary<string, int> opCounts, int nodes, int initializers, int inputs)
    {
        OpCounts = opCounts;
        Nodes = nodes;
        Initializers = initializers;
        Inputs = inputs;
    }

    /// <summary>Count per op type; contrib ops are prefixed with their domain.</summary>
    public IReadOnlyDictionary<string, int> OpCounts { get; }

    public int Nodes { get; }

    public int Initializers { get; }

    public int Inputs { get; }

    public static GraphCensus Read(string path)
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var node in model.Graph.Node)
        {
            var key = string.IsNullOrEmpty(node.Domain) ? node.OpType : $"{node.Domain}:{node.OpType}";
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }

        return new GraphCensus(counts, model.Graph.Node.Count, model.Graph.Initializer.Count, model.Graph.Input.Count);
    }
}
