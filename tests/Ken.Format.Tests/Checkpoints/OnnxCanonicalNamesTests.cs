using Ken.Format.Checkpoints.Onnx;

namespace Ken.Format.Tests.Checkpoints;

public class OnnxCanonicalNamesTests
{
    [Theory]
    [InlineData("encoder.layer.0.attention.self.query.weight", true)]
    [InlineData("embeddings.LayerNorm.bias", true)]
    [InlineData("2.linear.weight", true)]
    [InlineData("927", false)]
    [InlineData("onnx::MatMul_788", false)]
    [InlineData("/encoder/layer.0/attention/Add_output_0", false)]
    [InlineData("weight", false)]
    [InlineData("a..weight", false)]
    [InlineData("a.weight.", false)]
    [InlineData("", false)]
    public void Parameter_names_are_dotted_identifier_paths(string name, bool expected) =>
        Assert.Equal(expected, OnnxCanonicalNames.IsParameterName(name));
}
