using System.Text.RegularExpressions;
using Ken.Viz;
using SkiaSharp;

namespace Ken.Viz.Tests;

public partial class RenderingTests
{
    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    [Fact]
    public void Matrix_view_is_a_png_of_the_requested_size()
    {
        RequireFonts();
        var matrix = MaskMatrix.From(VizDeltas.Tensor("encoder.layer.0.attention.self.query.weight", 24, 40, (r, c) => c % 3 == 0));

        byte[] png = KenVizRenderer.MatrixView(matrix, maxCells: 16, width: 640, height: 480);

        AssertPng(png, 640, 480);
    }

    [Fact]
    public void Neighbor_view_is_two_panels_side_by_side()
    {
        RequireFonts();
        var matrix = MaskMatrix.From(VizDeltas.Tensor("m", 30, 30, (r, c) => (r * c) % 5 == 0));

        byte[] png = KenVizRenderer.NeighborView(matrix, window: 16, panelWidth: 500, panelHeight: 400);

        AssertPng(png, 1000, 400);
    }

    [Fact]
    public void Layer_grid_puts_six_layers_in_three_columns_and_two_rows()
    {
        RequireFonts();
        var delta = VizDeltas.SixLayers();
        var matrices = VizTensorSelection.Select(delta, "encoder.layer.*.attention.self.query.weight").Select(MaskMatrix.From).ToList();

        byte[] png = KenVizRenderer.LayerGrid(matrices, maxCells: 32, panelWidth: 300, panelHeight: 250);

        Assert.Equal(6, matrices.Count);
        AssertPng(png, 900, 500);
    }

    [Fact]
    public void Summary_chart_is_a_png_two_panels_wide()
    {
        RequireFonts();

        byte[] png = KenVizRenderer.SummaryChart(ResetSummary.Compute(VizDeltas.SixLayers()), panelWidth: 400, panelHeight: 300);

        AssertPng(png, 800, 300);
    }

    [Fact]
    public void Html_page_is_self_contained_with_the_images_as_data_uris()
    {
        RequireFonts();
        var delta = VizDeltas.SixLayers();
        var summary = ResetSummary.Compute(delta);
        byte[] matrixPng = KenVizRenderer.MatrixView(MaskMatrix.From(delta.PatchedTensors[1]), width: 320, height: 240);
        byte[] chartPng = KenVizRenderer.SummaryChart(summary, panelWidth: 300, panelHeight: 200);

        string html = VizHtmlPage.Build(
            "KENviz: <test>",
            ["delta: test.ken"],
            [
                new VizPageSection("Matrix", VizExplanations.For(VizView.Matrix), matrixPng),
                new VizPageSection("Summary", VizExplanations.For(VizView.Summary), chartPng, ResetSummaryTables.ToHtml(summary)),
            ]);

        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
        Assert.Contains("<title>KENviz: &lt;test&gt;</title>", html, StringComparison.Ordinal);
        var images = DataUri().Matches(html);
        Assert.Equal(2, images.Count);
        AssertPng(Convert.FromBase64String(images[0].Groups[1].Value), 320, 240);
        AssertPng(Convert.FromBase64String(images[1].Groups[1].Value), 600, 200);
        Assert.Contains("<h3>Reset per layer</h3>", html, StringComparison.Ordinal);

        // Self-contained: nothing is fetched from elsewhere.
        Assert.DoesNotContain("http://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<link", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.Ordinal);
    }

    private static void RequireFonts() =>
        Assert.SkipUnless(VizFonts.Available, "No fonts are installed (Skia reads /usr/share/fonts), so KENviz refuses to render; install fonts-dejavu-core.");

    private static void AssertPng(byte[] png, int width, int height)
    {
        Assert.Equal(PngSignature, png.AsSpan(0, PngSignature.Length).ToArray());
        using var bitmap = SKBitmap.Decode(png);
        Assert.NotNull(bitmap);
        Assert.Equal((width, height), (bitmap.Width, bitmap.Height));

        // Not a blank canvas: a rendered plot has many distinct colours.
        var colors = new HashSet<SKColor>();
        for (int y = 0; y < bitmap.Height; y += 7)
        {
            for (int x = 0; x < bitmap.Width; x += 7)
            {
                colors.Add(bitmap.GetPixel(x, y));
            }
        }

        Assert.True(colors.Count > 3, $"the PNG looks blank ({colors.Count} distinct colours)");
    }

    [GeneratedRegex("src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\"")]
    private static partial Regex DataUri();
}
