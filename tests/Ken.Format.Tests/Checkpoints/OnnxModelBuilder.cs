using Google.Protobuf;
using Ken.Format.Checkpoints.Onnx.Proto;

namespace Ken.Format.Tests.Checkpoints;

/// <summary>Builds small ONNX models in code, the way exporters lay them out.</summary>
internal sealed class OnnxModelBuilder
{
    private readonly GraphProto _graph = new() { Name = "test" };

    public OnnxModelBuilder Float(string name, long[] dims, float[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(dims);
        tensor.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        _graph.Initializer.Add(tensor);
        return this;
    }

    public OnnxModelBuilder Initializer(TensorProto tensor)
    {
        _graph.Initializer.Add(tensor);
        return this;
    }

    public OnnxModelBuilder Node(string opType, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = output + "_node" };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return this;
    }

    public ModelProto Build()
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "ken-tests", Graph = _graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return model;
    }

    public string Save(string path)
    {
        File.WriteAllBytes(path, Build().ToByteArray());
        return path;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, I = value, Type = AttributeProto.Types.AttributeType.Int };

    /// <summary>0, 1, 2, ... as floats: every element distinct, so a wrong layout shows.</summary>
    public static float[] Sequence(int count, float start = 0)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = start + i;
        }

        return values;
    }
}
