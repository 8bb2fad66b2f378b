using ScottPlot;

namespace Ken.Viz;

/// <summary>
/// A line chart of a metric against one x quantity, one line per series, with an optional dashed
/// reference level (e.g. the dense model's accuracy), as PNG bytes. Used by <c>ken eval --plot</c>.
/// </summary>
public static class LineChartRenderer
{
    // Okabe-Ito: distinguishable with colour-blindness, and in greyscale by marker shape.
    private static readonly Color[] Palette = [Color.FromHex("#0072B2"), Color.FromHex("#D55E00"), Color.FromHex("#009E73"), Color.FromHex("#CC79A7"), Color.FromHex("#E69F00")];
    private static readonly MarkerShape[] Markers = [MarkerShape.FilledCircle, MarkerShape.FilledSquare, MarkerShape.FilledTriangleUp, MarkerShape.FilledDiamond, MarkerShape.OpenCircle];

    public static byte[] Render(
        string title,
        string xLabel,
        string yLabel,
        IReadOnlyList<PlotSeries> series,
        double? reference = null,
        string referenceLabel = "reference",
        int width = 900,
        int height = 600)
    {
        ArgumentNullException.ThrowIfNull(series);
        VizFonts.EnsureAvailable();
        using var plot = new Plot();
        for (int i = 0; i < series.Count; i++)
        {
            var s = series[i];
            var line = plot.Add.Scatter(s.X.ToArray(), s.Y.ToArray());
            line.LegendText = s.Name;
            line.Color = Palette[i % Palette.Length];
            line.MarkerShape = Markers[i % Markers.Length];
            line.MarkerSize = 9;
            line.LineWidth = 2;
        }

        if (reference is { } level)
        {
            var dense = plot.Add.HorizontalLine(level);
            dense.LegendText = referenceLabel;
            dense.Color = Palette[^1];
            dense.LinePattern = LinePattern.Dashed;
            dense.LineWidth = 1.5f;
        }

        plot.Title(title, 14);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(Edge.Bottom);
        return PanelComposer.ToPng([plot], 1, width, height);
    }
}
