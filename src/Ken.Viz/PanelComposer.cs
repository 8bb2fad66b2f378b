using ScottPlot;
using SkiaSharp;

namespace Ken.Viz;

/// <summary>Draws several ScottPlot plots side by side on one canvas and encodes the result as PNG.</summary>
internal static class PanelComposer
{
    public static byte[] ToPng(IReadOnlyList<Plot> plots, int columns, int panelWidth, int panelHeight)
    {
        int rows = (plots.Count + columns - 1) / columns;
        int width = panelWidth * Math.Min(columns, plots.Count);
        int height = panelHeight * rows;
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException($"Skia could not create a {width}x{height} drawing surface.");
        surface.Canvas.Clear(SKColors.White);
        for (int i = 0; i < plots.Count; i++)
        {
            float left = (i % columns) * panelWidth;
            float top = (i / columns) * panelHeight;
            // Each plot gets its own surface: ScottPlot clears the whole canvas it renders on.
            using var panel = SKSurface.Create(new SKImageInfo(panelWidth, panelHeight, SKColorType.Rgba8888, SKAlphaType.Premul))
                ?? throw new InvalidOperationException($"Skia could not create a {panelWidth}x{panelHeight} drawing surface.");
            plots[i].Render(panel);
            using var panelImage = panel.Snapshot();
            surface.Canvas.DrawImage(panelImage, left, top);
        }

        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
