using System.Runtime.InteropServices;
using Google.Protobuf;
using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Onnx;
using Ken.Format.Checkpoints.Onnx.Proto;
using Ken.TestSupport;

namespace Ken.Format.Tests.Checkpoints;

public sealed class OnnxCheckpointTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void MatMul_weight_takes_the_name_of_the_bias_added_after_it_and_is_transposed()
    {
        // [in = 2, out = 3] as a MatMul stores it; the second layer adds with the bias first.
        var path = new OnnxModelBuilder()
            .Float("927", [2, 3], OnnxModelBuilder.Sequence(6))
            .Float("layer.dense.bias", [3], [0.5f, 0.25f, 0.125f])
            .Float("onnx::MatMul_788", [3, 2], OnnxModelBuilder.Sequence(6, 100))
            .Float("layer.out.bias", [2], [1, 2])
            .Node("MatMul", ["x", "927"], "h")
            .Node("Add", ["h", "layer.dense.bias"], "h2")
            .Node("MatMul", ["h2", "onnx::MatMul_788"], "o")
            .Node("Add", ["layer.out.bias", "o"], "y")
            .Save(_dir.File("model.onnx"));

        using var checkpoint = OnnxCheckpoint.Open(path);

        Assert.Equal(
            ["layer.dense.weight", "layer.dense.bias", "layer.out.weight", "layer.out.bias"],
            checkpoint.Tensors.Select(t => t.Name));
        Assert.True(checkpoint.TryGetMapping("layer.dense.weight", out var mapping));
        Assert.Equal("927", mapping.OnnxName);
        Assert.True(mapping.Transposed);
        Assert.Equal([2L, 3L], mapping.OnnxShape);
        Assert.Equal([3L, 2L], mapping.Info.Shape);

        var canonical = new float[6];
        checkpoint.ReadFloat32("layer.dense.weight", canonical);
        Assert.Equal([0f, 3, 1, 4, 2, 5], canonical);

        var stored = new float[6];
        checkpoint.ReadFloat32OnnxLayout("layer.dense.weight", stored);
        Assert.Equal(OnnxModelBuilder.Sequence(6), stored);

        checkpoint.ReadFloat32("layer.out.weight", canonical);
        Assert.Equal([100f, 102, 104, 101, 103, 105], canonical);
        Assert.Equal([2L, 3L], checkpoint.Tensors[2].Shape);
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(1, false)]
    public void Gemm_weight_is_transposed_unless_transB(long transB, bool transposed)
    {
        long[] dims = transB == 1 ? [3, 2] : [2, 3];
        var path = new OnnxModelBuilder()
            .Float("onnx::Gemm_5", dims, OnnxModelBuilder.Sequence(6))
            .Float("classifier.bias", [3], [0, 0, 0])
            .Node("Gemm", ["x", "onnx::Gemm_5", "classifier.bias"], "y", OnnxModelBuilder.Int("transB", transB))
            .Save(_dir.File("model.onnx"));

        using var checkpoint = OnnxCheckpoint.Open(path);

        Assert.True(checkpoint.TryGetMapping("classifier.weight", out var mapping));
        Assert.Equal(transposed, mapping.Transposed);
        Assert.Equal([3L, 2L], mapping.Info.Shape);
        var values = new float[6];
        checkpoint.ReadFloat32("classifier.weight", values);
        Assert.Equal(transposed ? [0f, 3, 1, 4, 2, 5] : OnnxModelBuilder.Sequence(6), values);
    }

    [Fact]
    public void Unresolved_and_parameter_named_initializers_keep_name_and_layout()
    {
        var path = new OnnxModelBuilder()
            .Float("onnx::MatMul_9", [2, 3], OnnxModelBuilder.Sequence(6))
            .Float("proj.weight", [2, 3], OnnxModelBuilder.Sequence(6))
            .Float("proj.bias", [3], [0, 0, 0])
            .Float("onnx::Div_3", [], [8])
            .Node("MatMul", ["x", "onnx::MatMul_9"], "a")
            .Node("Relu", ["a"], "b")
            .Node("MatMul", ["b", "proj.weight"], "c")
            .Node("Add", ["c", "proj.bias"], "d")
            .Node("Div", ["d", "onnx::Div_3"], "y")
            .Save(_dir.File("model.onnx"));

        using var checkpoint = OnnxCheckpoint.Open(path);

        Assert.Equal(["onnx::MatMul_9", "proj.weight", "proj.bias", "onnx::Div_3"], checkpoint.Tensors.Select(t => t.Name));
        Assert.All(checkpoint.Mappings, m => Assert.False(m.Transposed));
        Assert.Equal([2L, 3L], checkpoint.Tensors[0].Shape);
        Assert.Empty(checkpoint.Tensors[3].Shape);
        var values = new float[6];
        checkpoint.ReadFloat32("onnx::MatMul_9", values);
        Assert.Equal(OnnxModelBuilder.Sequence(6), values);
    }

    [Fact]
    public void Weights_whose_names_would_collide_stay_unresolved()
    {
        var path = new OnnxModelBuilder()
            .Float("1", [2, 2], OnnxModelBuilder.Sequence(4))
            .Float("2", [2, 2], OnnxModelBuilder.Sequence(4))
            .Float("shared.bias", [2], [0, 0])
            .Node("MatMul", ["x", "1"], "a")
            .Node("Add", ["a", "shared.bias"], "b")
            .Node("MatMul", ["b", "2"], "c")
            .Node("Add", ["c", "shared.bias"], "y")
            .Save(_dir.File("model.onnx"));

        using var checkpoint = OnnxCheckpoint.Open(path);

        Assert.Equal(["1", "2", "shared.bias"], checkpoint.Tensors.Select(t => t.Name));
    }

    [Fact]
    public void Half_precision_and_repeated_field_storage_convert_to_float32()
    {
        Half[] halves = [(Half)1.5f, (Half)(-2f), (Half)0.25f];
        var f16 = new TensorProto { Name = "a.weight", DataType = (int)TensorProto.Types.DataType.Float16 };
        f16.Dims.Add(3);
        f16.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(halves.AsSpan()));

        // bfloat16 3.0 = 0x4040, -0.5 = 0xBF00: the upper half of the float32 bits.
        var bf16 = new TensorProto { Name = "b.weight", DataType = (int)TensorProto.Types.DataType.Bfloat16 };
        bf16.Dims.Add(2);
        bf16.Int32Data.AddRange([0x4040, 0xBF00]);

        var bf16Raw = new TensorProto { Name = "d.weight", DataType = (int)TensorProto.Types.DataType.Bfloat16 };
        bf16Raw.Dims.Add(2);
        bf16Raw.RawData = ByteString.CopyFrom(0x40, 0x40, 0x00, 0xBF);

        var f32 = new TensorProto { Name = "c.weight", DataType = (int)TensorProto.Types.DataType.Float };
        f32.Dims.Add(2);
        f32.FloatData.AddRange([7f, 8f]);

        var ids = new TensorProto { Name = "position_ids", DataType = (int)TensorProto.Types.DataType.Int64 };
        ids.Dims.Add(1);
        ids.Int64Data.Add(0);

        var path = new OnnxModelBuilder().Initializer(f16).Initializer(bf16).Initializer(bf16Raw).Initializer(f32).Initializer(ids)
            .Save(_dir.File("model.onnx"));

        using var checkpoint = OnnxCheckpoint.Open(path);

        Assert.Equal([TensorDType.F16, TensorDType.BF16, TensorDType.BF16, TensorDType.F32], checkpoint.Tensors.Select(t => t.DType));
        Assert.Equal([1.5f, -2f, 0.25f], Read(checkpoint, "a.weight", 3));
        Assert.Equal([3f, -0.5f], Read(checkpoint, "b.weight", 2));
        Assert.Equal([3f, -0.5f], Read(checkpoint, "d.weight", 2));
        Assert.Equal([7f, 8f], Read(checkpoint, "c.weight", 2));
    }

    [Fact]
    public void External_data_is_read_from_offset_and_length_beside_the_model()
    {
        var weight = OnnxModelBuilder.Sequence(6, 10);
        var halves = new[] { (Half)0.5f, (Half)4f };
        var weightBytes = MemoryMarshal.AsBytes(weight.AsSpan()).ToArray();
        var halfBytes = MemoryMarshal.AsBytes(halves.AsSpan()).ToArray();
        Directory.CreateDirectory(_dir.File("data"));
        using (var file = File.Create(_dir.File("data/weights.bin")))
        {
            file.Write(new byte[16]);
            file.Write(weightBytes);
            file.Write(halfBytes);
        }

        var path = new OnnxModelBuilder()
            .Initializer(External("77", TensorProto.Types.DataType.Float, [2, 3], "data/weights.bin", 16, weightBytes.Length))
            .Initializer(External("fc.bias", TensorProto.Types.DataType.Float16, [2], "data/weights.bin", 16 + weightBytes.Length, null))
            .Node("MatMul", ["x", "77"], "h")
            .Node("Add", ["h", "fc.bias"], "y")
            .Save(_dir.File("model.onnx"));

        using var checkpoint = OnnxCheckpoint.Open(path);

        Assert.Equal([3L, 2L], checkpoint.Tensors[0].Shape);
        Assert.Equal([10f, 13, 11, 14, 12, 15], Read(checkpoint, "fc.weight", 6));
        Assert.Equal([0.5f, 4f], Read(checkpoint, "fc.bias", 2));
    }

    [Theory]
    [InlineData("weights.bin", 0, 100L, "declares 100 bytes")]
    [InlineData("weights.bin", 20, null, "which has only 24")]
    [InlineData("../weights.bin", 0, null, "outside the model's folder")]
    [InlineData("missing.bin", 0, null, "which is missing")]
    public void Bad_external_data_is_refused_when_the_model_opens(string location, long offset, long? length, string expected)
    {
        File.WriteAllBytes(_dir.File("weights.bin"), new byte[24]);
        var model = Path.Combine(_dir.Path, "sub");
        Directory.CreateDirectory(model);
        File.WriteAllBytes(Path.Combine(model, "weights.bin"), new byte[24]);
        var path = new OnnxModelBuilder()
            .Initializer(External("w.weight", TensorProto.Types.DataType.Float, [2, 3], location, offset, length))
            .Save(Path.Combine(model, "model.onnx"));

        var error = Assert.Throws<KenException>(() => OnnxCheckpoint.Open(path));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains("w.weight", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Inline_data_of_the_wrong_size_is_refused()
    {
        var path = new OnnxModelBuilder().Float("w.weight", [2, 3], [1, 2, 3]).Save(_dir.File("model.onnx"));

        var error = Assert.Throws<KenException>(() => OnnxCheckpoint.Open(path));

        Assert.Contains("is not a valid ONNX model", error.Message, StringComparison.Ordinal);
        Assert.Contains("re-export it", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_model_is_refused()
    {
        var bytes = new OnnxModelBuilder()
            .Float("927", [16, 16], OnnxModelBuilder.Sequence(256))
            .Float("a.bias", [16], OnnxModelBuilder.Sequence(16))
            .Node("MatMul", ["x", "927"], "h")
            .Node("Add", ["h", "a.bias"], "y")
            .Build().ToByteArray();
        var path = _dir.File("model.onnx");
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length / 2).ToArray());

        var error = Assert.Throws<KenException>(() => OnnxCheckpoint.Open(path));

        Assert.Contains($"{path} is not a valid ONNX model", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("re-export it.", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Garbage_file_is_refused(int seed)
    {
        var bytes = new byte[4096];
        new Random(seed).NextBytes(bytes);
        var path = _dir.File("model.onnx");
        File.WriteAllBytes(path, bytes);

        var error = Assert.Throws<KenException>(() => OnnxCheckpoint.Open(path));

        Assert.Contains("is not a valid ONNX model", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_file_is_refused()
    {
        var path = _dir.File("model.onnx");
        File.WriteAllText(path, "{\"this\": \"is json, not onnx\"}\n");

        Assert.Throws<KenException>(() => OnnxCheckpoint.Open(path));
    }

    [Fact]
    public void Missing_file_and_unknown_tensor_are_user_errors()
    {
        Assert.Throws<KenException>(() => OnnxCheckpoint.Open(_dir.File("nope.onnx")));

        var path = new OnnxModelBuilder().Float("w.weight", [1], [1]).Save(_dir.File("model.onnx"));
        using var checkpoint = OnnxCheckpoint.Open(path);
        var error = Assert.Throws<KenException>(() => checkpoint.ReadFloat32("x.weight", new float[1]));
        Assert.Contains("'x.weight'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_json_beside_the_model_is_exposed()
    {
        var path = new OnnxModelBuilder().Float("w.weight", [1], [1]).Save(_dir.File("model.onnx"));
        using (var withoutConfig = OnnxCheckpoint.Open(path))
        {
            Assert.Null(withoutConfig.ConfigJson);
        }

        File.WriteAllText(_dir.File("config.json"), "{\"model_type\":\"bert\"}");
        using var checkpoint = OnnxCheckpoint.Open(path);

        Assert.Equal("{\"model_type\":\"bert\"}", checkpoint.ConfigJson);
        Assert.Equal(path, checkpoint.Source);
    }

    private static float[] Read(OnnxCheckpoint checkpoint, string name, int count)
    {
        var values = new float[count];
        checkpoint.ReadFloat32(name, values);
        return values;
    }

    private static TensorProto External(
        string name, TensorProto.Types.DataType type, long[] dims, string location, long offset, long? length)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)type, DataLocation = TensorProto.Types.DataLocation.External };
        tensor.Dims.AddRange(dims);
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        if (length is { } l)
        {
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = l.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }

        return tensor;
    }
}
