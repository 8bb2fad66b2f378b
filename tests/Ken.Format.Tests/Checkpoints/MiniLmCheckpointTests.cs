using System.Runtime.InteropServices;
using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Onnx.Proto;

namespace Ken.Format.Tests.Checkpoints;

public sealed class MiniLmCheckpointTests(MiniLmFixture fixture) : IClassFixture<MiniLmFixture>
{
    [Theory]
    [InlineData("embeddings.word_embeddings.weight", new long[] { 30522, 384 })]
    [InlineData("embeddings.LayerNorm.weight", new long[] { 384 })]
    [InlineData("encoder.layer.0.attention.self.query.weight", new long[] { 384, 384 })]
    [InlineData("encoder.layer.0.attention.self.query.bias", new long[] { 384 })]
    [InlineData("encoder.layer.3.attention.output.dense.weight", new long[] { 384, 384 })]
    [InlineData("encoder.layer.0.intermediate.dense.weight", new long[] { 1536, 384 })]
    [InlineData("encoder.layer.5.output.dense.weight", new long[] { 384, 1536 })]
    [InlineData("pooler.dense.weight", new long[] { 384, 384 })]
    public void Tensors_have_hugging_face_names_and_pytorch_shapes(string name, long[] shape)
    {
        Assert.True(fixture.Checkpoint.TryGetInfo(name, out var info), name);
        Assert.Equal(shape, info.Shape);
        Assert.Equal(TensorDType.F32, info.DType);
    }

    [Fact]
    public void Every_parameter_resolves_to_a_hugging_face_name()
    {
        var tensors = fixture.Checkpoint.Tensors;

        // 5 embedding tensors, 16 per layer for 6 layers, 2 pooler tensors.
        Assert.Equal(5 + (6 * 16) + 2, tensors.Count);
        Assert.All(tensors, t => Assert.Matches(@"^(embeddings|encoder\.layer\.\d|pooler)\..*\.(weight|bias)$", t.Name));
        Assert.Equal(36, fixture.Checkpoint.Mappings.Count(m => m.Transposed));
    }

    [Fact]
    public void A_transposed_matmul_weight_reads_as_the_transpose_of_the_raw_initializer()
    {
        const string name = "encoder.layer.0.intermediate.dense.weight";
        Assert.True(fixture.Checkpoint.TryGetMapping(name, out var mapping));
        Assert.True(mapping.Transposed);
        Assert.NotEqual(name, mapping.OnnxName);
        Assert.Equal([384L, 1536L], mapping.OnnxShape);

        // The checkpoint leaves raw_data in the file; a full parse of the file is the reference.
        var eager = ModelProto.Parser.ParseFrom(File.ReadAllBytes(fixture.Model.ModelPath));
        var initializer = eager.Graph.Initializer.Single(i => i.Name == mapping.OnnxName);
        var raw = MemoryMarshal.Cast<byte, float>(initializer.RawData.Span);
        var canonical = new float[384 * 1536];
        fixture.Checkpoint.ReadFloat32(name, canonical);

        for (var o = 0; o < 1536; o++)
        {
            for (var i = 0; i < 384; i++)
            {
                Assert.Equal(raw[(i * 1536) + o], canonical[(o * 384) + i]);
            }
        }
    }
}
