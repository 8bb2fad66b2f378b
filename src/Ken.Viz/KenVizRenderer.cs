using System.Globalization;
using Ken.Format.Deltas;
using ScottPlot;

namespace Ken.Viz;

/// <summary>
/// Renders the KENviz views of a delta's masks as PNG bytes. Pixel coordinates are element
/// indices: x is the input (column) index, y the output (row) index with row 0 at the top, as in a
/// printed matrix.
/// </summary>
public static class KenVizRenderer
{
    /// <summary>Default cap on heatmap cells per side; larger matrices are averaged in blocks.</summary>
    public const int DefaultMaxCells = 384;

    /// <summary>
    /// Default cap per panel of the layer grid: several panels of per-element noise make PNGs of
    /// several hundred KB that say no more than coarser blocks.
    /// </summary>
    public const int DefaultLayerMaxCells = 96;

    /// <summary>Side of the window the neighbour view shows one cell per element in.</summary>
    public const int DefaultNeighborWindow = 64;

    private static readonly Color ResetColor = Color.FromHex("#e8e8e8");

    // Colour-blind-safe (Okabe-Ito) steps from isolated to fully surrounded kept positions.
    private static readonly Color[] NeighborColors =
    [
        Color.FromHex("#0072B2"), Color.FromHex("#56B4E9"), Color.FromHex("#009E73"), Color.FromHex("#E69F00"), Color.FromHex("#D55E00"),
    ];

    /// <summary>Kept positions against reset ones; each cell the kept fraction of its block.</summary>
    public static byte[] MatrixView(MaskMatrix matrix, int maxCells = DefaultMaxCells, int width = 900, int height = 720)
    {
        VizFonts.EnsureAvailable();
        using var plot = MatrixPlot(matrix, KeptDensityGrid.Compute(matrix, maxCells), matrix.Name);
        return PanelComposer.ToPng([plot], 1, width, height);
    }

    /// <summary>
    /// Left: the top-left window of the matrix, one cell per element, kept positions coloured by how
    /// many of their 4 neighbours are kept. Right: that count over the whole matrix against what
    /// independent choice at the same density would give.
    /// </summary>
    public static byte[] NeighborView(MaskMatrix matrix, int window = DefaultNeighborWindow, int panelWidth = 700, int panelHeight = 620)
    {
        VizFonts.EnsureAvailable();
        var counts = NeighborCounts.Compute(matrix);
        int rows = Math.Min(matrix.Rows, window);
        int columns = Math.Min(matrix.Columns, window);
        var cells = new double[rows, columns];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                cells[r, c] = counts[((long)r * matrix.Columns) + c];
            }
        }

        using var map = new Plot();
        var heatmap = map.Add.Heatmap(cells);
        heatmap.Colormap = new DiscreteColormap("kept neighbours", [ResetColor, .. NeighborColors]);
        heatmap.ManualRange = new ScottPlot.Range(NeighborCounts.Reset, 4);
        PlaceAsMatrix(map, heatmap, rows, columns);
        map.Title(Shorten(matrix.Name, 60) + Inv($"\nrows 0-{rows - 1}, columns 0-{columns - 1} of {matrix.Rows}x{matrix.Columns}"), 13);
        var legend = new List<LegendItem> { new() { LabelText = "reset", FillColor = ResetColor } };
        for (int n = 0; n <= 4; n++)
        {
            legend.Add(new LegendItem { LabelText = Inv($"kept, {n} kept neighbours"), FillColor = NeighborColors[n] });
        }

        // Outside the data area: inside, the legend would hide part of the window it explains.
        map.Legend.ManualItems.AddRange(legend);
        map.ShowLegend(Edge.Bottom);

        long[] histogram = NeighborCounts.Histogram(counts);
        long kept = 0;
        foreach (long h in histogram)
        {
            kept += h;
        }

        double[] expected = NeighborCounts.ExpectedIfIndependent(kept, matrix.ElementCount == 0 ? 0 : (double)kept / matrix.ElementCount);
        using var bars = new Plot();
        var observedBars = new List<Bar>();
        var expectedBars = new List<Bar>();
        for (int n = 0; n <= 4; n++)
        {
            observedBars.Add(new Bar { Position = n - 0.2, Value = Share(histogram[n], kept), Size = 0.38, FillColor = NeighborColors[n] });
            expectedBars.Add(new Bar { Position = n + 0.2, Value = Share(expected[n], kept), Size = 0.38, FillColor = Colors.Gray.WithAlpha(0.55) });
        }

        bars.Add.Bars(observedBars);
        bars.Add.Bars(expectedBars);
        bars.Axes.Bottom.SetTicks([0, 1, 2, 3, 4], ["0", "1", "2", "3", "4"]);
        double highest = 0;
        foreach (var b in observedBars.Concat(expectedBars))
        {
            highest = Math.Max(highest, b.Value);
        }

        // Headroom above the tallest bar keeps the legend off the bars.
        bars.Axes.SetLimitsY(0, Math.Max(1, highest * 1.3));
        bars.XLabel("kept neighbours of a kept position (of 4)");
        bars.YLabel("% of kept positions");
        bars.Title(Inv($"whole matrix: {kept:N0} kept positions"), 13);
        bars.ShowLegend(
            [
                new LegendItem { LabelText = "this mask", FillColor = NeighborColors[2] },
                new LegendItem { LabelText = "independent choice, same density", FillColor = Colors.Gray.WithAlpha(0.55) },
            ],
            Alignment.UpperRight);
        return PanelComposer.ToPng([map, bars], 2, panelWidth, panelHeight);
    }

    /// <summary>The same matrix across layers, one panel each, sharing one 0-1 colour scale.</summary>
    public static byte[] LayerGrid(IReadOnlyList<MaskMatrix> matrices, int maxCells = DefaultLayerMaxCells, int panelWidth = 520, int panelHeight = 440)
    {
        ArgumentOutOfRangeException.ThrowIfZero(matrices.Count, nameof(matrices));
        VizFonts.EnsureAvailable();
        var plots = new List<Plot>();
        try
        {
            foreach (var m in matrices)
            {
                string title = LayerNames.LayerIndex(m.Name) is { } layer ? Inv($"layer {layer}: ") + LayerNames.Kind(m.Name) : m.Name;
                plots.Add(MatrixPlot(m, KeptDensityGrid.Compute(m, maxCells), title));
            }

            int columns = (int)Math.Ceiling(Math.Sqrt(matrices.Count));
            return PanelComposer.ToPng(plots, columns, panelWidth, panelHeight);
        }
        finally
        {
            foreach (var p in plots)
            {
                p.Dispose();
            }
        }
    }

    /// <summary>Reset % per layer (left) and per matrix kind averaged over layers (right).</summary>
    public static byte[] SummaryChart(ResetSummary summary, int panelWidth = 760, int panelHeight = 560)
    {
        VizFonts.EnsureAvailable();
        using var layers = new Plot();
        var layerBars = new List<Bar>();
        var positions = new double[summary.Layers.Count];
        var labels = new string[summary.Layers.Count];
        for (int i = 0; i < summary.Layers.Count; i++)
        {
            var g = summary.Layers[i];
            layerBars.Add(new Bar { Position = i, Value = 100 * g.ResetFraction, FillColor = Colors.SteelBlue, Label = (100 * g.ResetFraction).ToString("F1", CultureInfo.InvariantCulture) });
            positions[i] = i;
            labels[i] = g.Name;
        }

        var layerPlot = layers.Add.Bars(layerBars);
        layerPlot.ValueLabelStyle.FontSize = 11;
        layers.Axes.Bottom.SetTicks(positions, labels);
        layers.Axes.Bottom.TickLabelStyle.FontSize = summary.Layers.Count > 8 ? 9 : 11;
        layers.Axes.SetLimitsY(0, 105);
        layers.Add.HorizontalLine(100 * summary.Overall.ResetFraction, 1.5f, Colors.DarkRed, LinePattern.Dashed);
        layers.YLabel("% of positions reset to pre-trained");
        layers.Title(Inv($"reset per layer (dashed: overall {100 * summary.Overall.ResetFraction:F1} %)"), 13);

        // Kinds average their layers weighted by elements, which is what a layer's total reset is made of.
        var kinds = new List<(string Kind, long Elements, long Reset)>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in summary.Tensors)
        {
            string kind = ShortKind(LayerNames.Kind(t.Name));
            if (!index.TryGetValue(kind, out int k))
            {
                k = kinds.Count;
                index.Add(kind, k);
                kinds.Add((kind, 0, 0));
            }

            kinds[k] = (kind, kinds[k].Elements + t.Elements, kinds[k].Reset + t.ResetCount);
        }

        using var kindPlot = new Plot();
        var kindBars = new List<Bar>();
        var kindPositions = new double[kinds.Count];
        var kindLabels = new string[kinds.Count];
        for (int i = 0; i < kinds.Count; i++)
        {
            // Top-to-bottom in name order reads like the table.
            double y = kinds.Count - 1 - i;
            double reset = kinds[i].Elements == 0 ? 0 : 100.0 * kinds[i].Reset / kinds[i].Elements;
            kindBars.Add(new Bar { Position = y, Value = reset, FillColor = Colors.DarkOrange, Orientation = Orientation.Horizontal });
            kindPositions[i] = y;
            kindLabels[i] = kinds[i].Kind;
        }

        kindPlot.Add.Bars(kindBars);
        kindPlot.Axes.Left.SetTicks(kindPositions, kindLabels);
        kindPlot.Axes.Left.TickLabelStyle.FontSize = kinds.Count > 24 ? 9 : 11;
        kindPlot.Axes.SetLimitsX(0, 105);
        kindPlot.XLabel("% reset");
        kindPlot.Title("reset per tensor kind (all layers)", 13);
        return PanelComposer.ToPng([layers, kindPlot], 2, panelWidth, Math.Max(panelHeight, 60 + (18 * kinds.Count)));
    }

    private static Plot MatrixPlot(MaskMatrix matrix, KeptDensityGrid grid, string title)
    {
        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(grid.Density);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.ManualRange = new ScottPlot.Range(0, 1);
        PlaceAsMatrix(plot, heatmap, matrix.Rows, matrix.Columns);
        var colorBar = plot.Add.ColorBar(heatmap);
        colorBar.Label = grid.BlockRows * grid.BlockColumns == 1 ? "kept (1) / reset (0)" : "kept fraction of block";
        long kept = MaskBitsCount(matrix);
        string block = grid.BlockRows * grid.BlockColumns == 1 ? "1 cell = 1 element" : Inv($"1 cell = {grid.BlockRows}x{grid.BlockColumns} block");
        plot.Title(Shorten(title, 64) + Inv($"\n[{matrix.Rows} out x {matrix.Columns} in], kept {Percent(kept, matrix.ElementCount)}, {block}"), 13);
        return plot;
    }

    // An extent in element coordinates keeps tick labels in element indices; with the y axis
    // inverted (top = 0) ScottPlot's heatmap draws row 0 at the top, as a printed matrix.
    private static void PlaceAsMatrix(Plot plot, ScottPlot.Plottables.Heatmap heatmap, int rows, int columns)
    {
        heatmap.Extent = new CoordinateRect(0, columns, 0, rows);
        plot.Axes.SetLimits(0, columns, rows, 0);
        plot.XLabel("in (column)");
        plot.YLabel("out (row)");
        plot.HideGrid();
    }

    private static long MaskBitsCount(MaskMatrix matrix) => MaskBits.PopCount(matrix.Mask);

    private static double Share(double count, long total) => total == 0 ? 0 : 100.0 * count / total;

    private static string Percent(long part, long whole) => whole == 0 ? "0 %" : Inv($"{100.0 * part / whole:F1} %");

    private static string ShortKind(string kind) => kind.StartsWith("encoder.layer.*.", StringComparison.Ordinal) ? kind["encoder.layer.*.".Length..] : kind;

    private static string Shorten(string text, int max) => text.Length <= max ? text : "..." + text[^(max - 3)..];

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
