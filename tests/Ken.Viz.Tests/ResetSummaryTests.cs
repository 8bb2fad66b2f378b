using Ken.Format.Checkpoints;
using Ken.Format.Deltas;
using Ken.Viz;

namespace Ken.Viz.Tests;

public class ResetSummaryTests
{
    private static KenDelta Delta() => VizDeltas.Delta(
        VizDeltas.Tensor("embeddings.word_embeddings.weight", "#...", "#..."),
        VizDeltas.Tensor("encoder.layer.0.attention.self.query.weight", "##", "#."),
        VizDeltas.Tensor("encoder.layer.0.attention.self.query.bias", "#.."),
        VizDeltas.Tensor("encoder.layer.1.attention.self.query.weight", "..", "..", "#."));

    [Fact]
    public void Reset_percentages_per_tensor_per_layer_and_overall()
    {
        var summary = ResetSummary.Compute(Delta());

        Assert.Equal([0.75, 0.25, 2 / 3.0, 5 / 6.0], summary.Tensors.Select(t => t.ResetFraction));
        Assert.Equal(["embeddings", "layer 0", "layer 0", "layer 1"], summary.Tensors.Select(t => t.Layer));

        Assert.Equal(["embeddings", "layer 0", "layer 1"], summary.Layers.Select(g => g.Name));
        var layer0 = summary.Layers[1];
        Assert.Equal((2, 7L, 4L, 3L), (layer0.TensorCount, layer0.Elements, layer0.Kept, layer0.ResetCount));
        Assert.Equal(3 / 7.0, layer0.ResetFraction, 12);

        Assert.Equal((4, 21L, 7L), (summary.Overall.TensorCount, summary.Overall.Elements, summary.Overall.Kept));
        Assert.Equal(14 / 21.0, summary.Overall.ResetFraction, 12);
    }

    [Fact]
    public void With_the_base_tensors_unpatched_ones_count_as_wholly_reset_in_base_order()
    {
        var baseTensors = new List<TensorInfo>
        {
            new("embeddings.word_embeddings.weight", TensorDType.F32, [2, 4]),
            new("embeddings.LayerNorm.weight", TensorDType.F32, [4]),
            new("encoder.layer.0.attention.self.query.weight", TensorDType.F32, [2, 2]),
            new("encoder.layer.0.attention.self.query.bias", TensorDType.F32, [3]),
            new("encoder.layer.1.attention.self.query.weight", TensorDType.F32, [3, 2]),
        };

        var summary = ResetSummary.Compute(Delta(), baseTensors);

        var unpatched = summary.Tensors[1];
        Assert.Equal(("embeddings.LayerNorm.weight", false, 1.0), (unpatched.Name, unpatched.InDelta, unpatched.ResetFraction));
        Assert.Equal((2, 12L, 2L), (summary.Layers[0].TensorCount, summary.Layers[0].Elements, summary.Layers[0].Kept));
        Assert.Equal((25L, 7L), (summary.Overall.Elements, summary.Overall.Kept));
    }

    [Fact]
    public void Tables_hold_the_same_numbers_in_text_markdown_and_html()
    {
        var summary = ResetSummary.Compute(Delta());

        string text = ResetSummaryTables.ToText(summary);
        string markdown = ResetSummaryTables.ToMarkdown(summary);
        string html = ResetSummaryTables.ToHtml(summary);

        Assert.Contains("overall: 14 of 21 base positions reset (66.7 %) across 4 tensors", text, StringComparison.Ordinal);
        Assert.Contains("| layer 0 | 2 | 7 | 4 | 42.9 |", markdown, StringComparison.Ordinal);
        Assert.Contains("| encoder.layer.1.attention.self.query.weight | layer 1 | 6 | 1 | 83.3 |", markdown, StringComparison.Ordinal);
        Assert.Contains("<td>layer 1</td><td class=\"n\">1</td><td class=\"n\">6</td><td class=\"n\">1</td><td class=\"n\">83.3</td>", html, StringComparison.Ordinal);
    }
}
