using ScottPlot;

namespace Ken.Viz;

/// <summary>
/// A colormap of a few flat colours for small integer values: value <c>v</c> of a heatmap whose range
/// is set to <c>[first, first + colours - 1]</c> gets colour <c>v - first</c>.
/// </summary>
internal sealed class DiscreteColormap(string name, IReadOnlyList<Color> colors) : IColormap
{
    public string Name { get; } = name;

    public Color GetColor(double normalizedIntensity)
    {
        if (double.IsNaN(normalizedIntensity))
        {
            return Colors.Transparent;
        }

        int i = (int)Math.Round(Math.Clamp(normalizedIntensity, 0, 1) * (colors.Count - 1));
        return colors[i];
    }
}
