using Ken.Format;
using Ken.Viz;

namespace Ken.Viz.Tests;

public class VizTensorSelectionTests
{
    [Fact]
    public void A_glob_selects_every_layer_in_numeric_order()
    {
        var delta = VizDeltas.Delta(
            VizDeltas.Tensor("encoder.layer.10.attention.self.query.weight", "#."),
            VizDeltas.Tensor("encoder.layer.2.attention.self.query.weight", "#."),
            VizDeltas.Tensor("encoder.layer.2.attention.self.key.weight", "#."));

        var selected = VizTensorSelection.Select(delta, "encoder.layer.*.attention.self.query.weight");

        Assert.Equal(["encoder.layer.2.attention.self.query.weight", "encoder.layer.10.attention.self.query.weight"], selected.Select(t => t.Name));
    }

    [Fact]
    public void An_unknown_tensor_is_an_error_that_lists_some_available_names()
    {
        var delta = VizDeltas.SixLayers();

        var e = Assert.Throws<KenException>(() => VizTensorSelection.Select(delta, "encoder.layer.0.nope.weight"));

        Assert.Contains("no patched tensor matches 'encoder.layer.0.nope.weight'", e.Message, StringComparison.Ordinal);
        Assert.Contains("embeddings.word_embeddings.weight", e.Message, StringComparison.Ordinal);
        Assert.Contains("13 in all", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Same_kind_takes_one_matrix_in_every_layer_and_not_its_namesakes()
    {
        var delta = VizDeltas.Delta(
            VizDeltas.Tensor("encoder.layer.1.output.dense.weight", "#."),
            VizDeltas.Tensor("encoder.layer.0.attention.output.dense.weight", "#."),
            VizDeltas.Tensor("encoder.layer.0.output.dense.weight", "#."));

        var selected = VizTensorSelection.SameKind(delta, "encoder.layer.0.output.dense.weight");

        Assert.Equal(["encoder.layer.0.output.dense.weight", "encoder.layer.1.output.dense.weight"], selected.Select(t => t.Name));
    }

    [Fact]
    public void The_default_tensor_is_the_first_matrix_inside_a_layer_else_the_first_matrix()
    {
        var delta = VizDeltas.Delta(VizDeltas.Tensor("a.bias", "#."), VizDeltas.Tensor("a.weight", "#.", ".#"));
        var layered = VizDeltas.SixLayers();

        Assert.Equal("a.weight", VizTensorSelection.Default(delta).Name);
        Assert.Equal("encoder.layer.0.attention.self.query.weight", VizTensorSelection.Default(layered).Name);
    }
}
