using System.Runtime.InteropServices;
using Google.Protobuf;
using Ken.Format.Checkpoints.Onnx;
using Ken.Format.Checkpoints.Onnx.Proto;
using Ken.TestSupport;

namespace Ken.Format.Tests.Checkpoints;

/// <summary>
/// <see cref="OnnxCheckpoint"/> leaves every initializer's raw_data in the file and reads it on
/// demand; a full Google.Protobuf parse of the same file is the reference it must agree with.
/// </summary>
public sealed class OnnxLazyRawDataTests(MiniLmFixture fixture) : IClassFixture<MiniLmFixture>, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void MiniLm_initializers_read_from_the_file_equal_a_full_parse_and_the_model_holds_no_raw_data()
    {
        var eager = ModelProto.Parser.ParseFrom(File.ReadAllBytes(fixture.Model.ModelPath));
        var byName = eager.Graph.Initializer.ToDictionary(i => i.Name, StringComparer.Ordinal);

        foreach (var mapping in fixture.Checkpoint.Mappings)
        {
            var values = new float[mapping.Info.ElementCount];
            fixture.Checkpoint.ReadFloat32OnnxLayout(mapping.CanonicalName, values);
            Assert.True(byName[mapping.OnnxName].RawData.Span.SequenceEqual(MemoryMarshal.AsBytes(values.AsSpan())), mapping.OnnxName);
        }

        Assert.Equal(eager.Graph.Initializer.Count, fixture.Checkpoint.Model.Graph.Initializer.Count);
        Assert.All(fixture.Checkpoint.Model.Graph.Initializer, i => Assert.False(i.HasRawData, i.Name));
    }

    [Fact]
    public void A_copy_with_raw_data_serializes_exactly_like_a_full_parse_of_minilm()
    {
        var eager = ModelProto.Parser.ParseFrom(File.ReadAllBytes(fixture.Model.ModelPath));

        var copy = fixture.Checkpoint.CopyModel(_ => false);

        Assert.Equal(eager.ToByteArray(), copy.ToByteArray());
        Assert.All(fixture.Checkpoint.Model.Graph.Initializer, i => Assert.False(i.HasRawData, i.Name));
    }

    [Fact]
    public void Initializers_a_copy_drops_get_no_raw_data_and_the_others_keep_theirs()
    {
        var dropped = fixture.Checkpoint.Mappings[0].OnnxName;

        var copy = fixture.Checkpoint.CopyModel(i => i.Name == dropped);

        Assert.All(copy.Graph.Initializer, i => Assert.Equal(i.Name != dropped, i.HasRawData));
    }

    [Fact]
    public void Unknown_fields_groups_a_second_graph_and_a_repeated_raw_data_field_parse_as_a_full_parse_does()
    {
        var values = OnnxModelBuilder.Sequence(6, 1);
        var bytes = new OnnxModelBuilder().Float("w.bias", [3], [7, 8, 9]).Build().ToByteArray();

        // A second graph field merges into the first: its initializer comes after w.bias.
        var path = _dir.File("model.onnx");
        File.WriteAllBytes(path, [.. bytes, .. SecondGraph(TensorWithUnknownFields("w.weight", [2, 3], values)), .. UnknownModelFields()]);
        var eager = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        Assert.Equal(["w.bias", "w.weight"], eager.Graph.Initializer.Select(i => i.Name));
        Assert.Equal(values, MemoryMarshal.Cast<byte, float>(eager.Graph.Initializer[1].RawData.Span).ToArray());

        using var checkpoint = OnnxCheckpoint.Open(path);

        var read = new float[6];
        checkpoint.ReadFloat32("w.weight", read);
        Assert.Equal(values, read);
        var bias = new float[3];
        checkpoint.ReadFloat32("w.bias", bias);
        Assert.Equal([7f, 8, 9], bias);
        Assert.Equal(eager.ToByteArray(), checkpoint.CopyModel(_ => false).ToByteArray());
    }

    [Fact]
    public void A_model_cut_anywhere_inside_its_graph_is_refused_with_a_clear_message()
    {
        var model = new OnnxModelBuilder()
            .Float("927", [4, 4], OnnxModelBuilder.Sequence(16))
            .Float("a.bias", [4], OnnxModelBuilder.Sequence(4))
            .Node("MatMul", ["x", "927"], "h")
            .Node("Add", ["h", "a.bias"], "y")
            .Build();
        var bytes = model.ToByteArray();

        // ir_version and producer_name come first, then the graph: tag, length, message.
        var graphStart = new ModelProto { IrVersion = model.IrVersion, ProducerName = model.ProducerName }.CalculateSize();
        var graphLength = model.Graph.CalculateSize();
        var graphEnd = graphStart + 1 + CodedOutputStream.ComputeLengthSize(graphLength) + graphLength;
        var path = _dir.File("model.onnx");
        for (var cut = graphStart + 1; cut < graphEnd; cut++)
        {
            File.WriteAllBytes(path, bytes.AsSpan(0, cut).ToArray());

            var error = Assert.Throws<KenException>(() => OnnxCheckpoint.Open(path));

            Assert.StartsWith($"{path} is not a valid ONNX model (", error.Message, StringComparison.Ordinal);
            Assert.EndsWith("re-export it.", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_model_replaced_after_opening_is_still_read_as_it_was_parsed()
    {
        var path = new OnnxModelBuilder().Float("w.weight", [3], [1, 2, 3]).Save(_dir.File("model.onnx"));
        using var checkpoint = OnnxCheckpoint.Open(path);

        var replacement = new OnnxModelBuilder().Float("w.weight", [3], [4, 5, 6]).Save(_dir.File("new.onnx"));
        File.Move(replacement, path, overwrite: true);

        var values = new float[3];
        checkpoint.ReadFloat32("w.weight", values);
        Assert.Equal([1f, 2, 3], values);
    }

    [Fact]
    public void A_model_that_shrinks_after_opening_fails_reads_with_a_clear_message()
    {
        var path = new OnnxModelBuilder().Float("w.weight", [64], OnnxModelBuilder.Sequence(64)).Save(_dir.File("model.onnx"));
        using var checkpoint = OnnxCheckpoint.Open(path);

        using (var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            file.SetLength(16);
        }

        var error = Assert.Throws<KenException>(() => checkpoint.ReadFloat32("w.weight", new float[64]));
        Assert.Equal($"ONNX model {path} shrank while reading it; restore the file.", error.Message);
    }

    /// <summary>
    /// A float tensor whose wire form has fields Ken's onnx.proto does not declare (varint, fixed64,
    /// fixed32, a group) and raw_data twice: a decoy first, the real <paramref name="values"/> last.
    /// </summary>
    private static byte[] TensorWithUnknownFields(string name, long[] dims, float[] values)
    {
        var declared = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        declared.Dims.AddRange(dims);
        using var bytes = new MemoryStream();
        using (var output = new CodedOutputStream(bytes, leaveOpen: true))
        {
            declared.WriteTo(output);
            output.WriteTag(9, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(new byte[values.Length * sizeof(float)]));
            output.WriteTag(3, WireFormat.WireType.Varint);
            output.WriteUInt64(300);
            output.WriteTag(15, WireFormat.WireType.Fixed64);
            output.WriteFixed64(0x0102030405060708);
            output.WriteTag(16, WireFormat.WireType.Fixed32);
            output.WriteFixed32(0x0A0B0C0D);
            output.WriteTag(17, WireFormat.WireType.StartGroup);
            output.WriteTag(1, WireFormat.WireType.Varint);
            output.WriteUInt64(5);
            output.WriteTag(2, WireFormat.WireType.LengthDelimited);
            output.WriteString("inside a group");
            output.WriteTag(17, WireFormat.WireType.EndGroup);
            output.WriteTag(9, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())));
        }

        return bytes.ToArray();
    }

    /// <summary>A top-level graph field holding one initializer given in wire form.</summary>
    private static byte[] SecondGraph(byte[] tensor)
    {
        using var graph = new MemoryStream();
        using (var output = new CodedOutputStream(graph, leaveOpen: true))
        {
            output.WriteTag(5, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(tensor));
        }

        using var bytes = new MemoryStream();
        using (var output = new CodedOutputStream(bytes, leaveOpen: true))
        {
            output.WriteTag(7, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(graph.ToArray()));
        }

        return bytes.ToArray();
    }

    /// <summary>Top-level fields of ModelProto that Ken's onnx.proto does not declare (training_info, a group).</summary>
    private static byte[] UnknownModelFields()
    {
        using var bytes = new MemoryStream();
        using (var output = new CodedOutputStream(bytes, leaveOpen: true))
        {
            output.WriteTag(20, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFromUtf8("opaque"));
            output.WriteTag(21, WireFormat.WireType.StartGroup);
            output.WriteTag(22, WireFormat.WireType.StartGroup);
            output.WriteTag(22, WireFormat.WireType.EndGroup);
            output.WriteTag(21, WireFormat.WireType.EndGroup);
        }

        return bytes.ToArray();
    }
}
