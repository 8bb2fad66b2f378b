namespace Ken.Viz;

/// <summary>How to read each view: the captions of the HTML page, kept with the renderers they describe.</summary>
public static class VizExplanations
{
    public static string For(VizView view) => view switch
    {
        VizView.Matrix => "Each cell is a block of the weight matrix (rows = output neurons, columns = inputs); its colour is the fraction of the block's positions that keep the fine-tuned value (1 = all kept, 0 = all reset to the pre-trained weight). KEN keeps the same number of values in every row, so the picture shows where in each row they fall.",
        VizView.Neighbors => "Left: the top-left corner of the matrix, one cell per weight; grey = reset, coloured = kept, the colour telling how many of its 4 neighbours are kept too. Right: that count over the whole matrix, next to what choosing the same number of positions independently at random would give. Bars left of the grey ones mean the selection scatters its positions; bars to the right mean it clusters them.",
        VizView.Layers => "The same weight matrix in every layer, one panel per layer, on one 0-1 colour scale (kept fraction per block), so layers that keep their values in different places stand out.",
        VizView.Summary => "The share of base positions reset to the pre-trained value, per layer and per kind of tensor (averaged over layers, weighted by size). With --keep every row keeps the same fraction, so the bars are nearly level; with --k the share depends on each tensor's row length.",
        _ => throw new ArgumentOutOfRangeException(nameof(view), view, null),
    };
}
