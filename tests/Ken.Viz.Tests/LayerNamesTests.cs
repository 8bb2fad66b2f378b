using Ken.Viz;

namespace Ken.Viz.Tests;

public class LayerNamesTests
{
    [Theory]
    [InlineData("encoder.layer.3.attention.self.query.weight", 3, "layer 3", "encoder.layer.*.attention.self.query.weight")]
    [InlineData("encoder.layer.11.output.dense.bias", 11, "layer 11", "encoder.layer.*.output.dense.bias")]
    [InlineData("embeddings.word_embeddings.weight", null, "embeddings", "embeddings.word_embeddings.weight")]
    [InlineData("pooler.dense.weight", null, "pooler", "pooler.dense.weight")]
    [InlineData("927", 927, "layer 927", "*")]
    public void Reads_the_layer_from_the_first_numeric_segment(string name, int? index, string group, string kind)
    {
        Assert.Equal(index, LayerNames.LayerIndex(name));
        Assert.Equal(group, LayerNames.Group(name));
        Assert.Equal(kind, LayerNames.Kind(name));
    }
}
