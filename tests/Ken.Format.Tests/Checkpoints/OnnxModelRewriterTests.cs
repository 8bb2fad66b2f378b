using Ken.Format.Checkpoints.Onnx;
using Ken.Format.Checkpoints.Onnx.Proto;

namespace Ken.Format.Tests.Checkpoints;

public sealed class OnnxModelRewriterTests(MiniLmFixture fixture) : IClassFixture<MiniLmFixture>
{
    [Fact]
    public void Promoted_initializers_become_fixed_shape_float_inputs_and_leave_the_initializers()
    {
        var checkpoint = fixture.Checkpoint;
        var names = checkpoint.Mappings.Select(m => m.OnnxName).ToArray();

        var model = ModelProto.Parser.ParseFrom(OnnxModelRewriter.PromoteInitializersToInputs(checkpoint, names));

        Assert.DoesNotContain(model.Graph.Initializer, i => names.Contains(i.Name));
        foreach (var mapping in checkpoint.Mappings)
        {
            var input = Assert.Single(model.Graph.Input, i => i.Name == mapping.OnnxName);
            Assert.Equal((int)TensorProto.Types.DataType.Float, input.Type.TensorType.ElemType);
            Assert.Equal(mapping.OnnxShape, input.Type.TensorType.Shape.Dim.Select(d => d.DimValue).ToArray());
        }

        // The token inputs are still there, and the source model is untouched.
        Assert.Contains(model.Graph.Input, i => i.Name == "input_ids");
        Assert.Equal(checkpoint.Mappings.Count, checkpoint.Model.Graph.Initializer.Count(i => names.Contains(i.Name)));
    }

    [Fact]
    public void Promoting_an_unknown_initializer_is_an_error()
    {
        var e = Assert.Throws<KenException>(() => OnnxModelRewriter.PromoteInitializersToInputs(fixture.Checkpoint, ["no_such_weight"]));
        Assert.Contains("no_such_weight", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Replaced_weights_read_back_in_canonical_layout_including_transposed_ones()
    {
        const string transposed = "encoder.layer.0.intermediate.dense.weight";
        const string plain = "encoder.layer.0.attention.output.LayerNorm.bias";
        Assert.True(fixture.Checkpoint.TryGetMapping(transposed, out var mapping));
        Assert.True(mapping.Transposed);

        var weight = new float[1536 * 384];
        for (var i = 0; i < weight.Length; i++)
        {
            weight[i] = i * 0.001f;
        }

        var bias = new float[384];
        Array.Fill(bias, 0.25f);
        var bytes = OnnxModelRewriter.WithInitializers(fixture.Checkpoint, new Dictionary<string, float[]> { [transposed] = weight, [plain] = bias });

        var path = Path.Combine(Path.GetTempPath(), $"ken-rewriter-{Guid.NewGuid():N}.onnx");
        try
        {
            File.WriteAllBytes(path, bytes);
            using var rewritten = OnnxCheckpoint.Open(path);
            var readWeight = new float[weight.Length];
            rewritten.ReadFloat32(transposed, readWeight);
            Assert.Equal(weight, readWeight);
            var readBias = new float[bias.Length];
            rewritten.ReadFloat32(plain, readBias);
            Assert.Equal(bias, readBias);

            // Untouched tensors keep their values.
            var original = new float[384];
            var kept = new float[384];
            fixture.Checkpoint.ReadFloat32("embeddings.LayerNorm.weight", original);
            rewritten.ReadFloat32("embeddings.LayerNorm.weight", kept);
            Assert.Equal(original, kept);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Replacing_with_the_wrong_element_count_is_an_error()
    {
        Assert.Throws<ArgumentException>(() => OnnxModelRewriter.WithInitializers(
            fixture.Checkpoint, new Dictionary<string, float[]> { ["embeddings.LayerNorm.weight"] = new float[3] }));
    }
}
