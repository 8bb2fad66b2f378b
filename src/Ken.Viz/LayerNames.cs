using System.Text.RegularExpressions;

namespace Ken.Viz;

/// <summary>
/// Reads the layer out of a canonical tensor name: the first all-digit segment
/// (<c>encoder.layer.3.attention...</c> is layer 3). Names without one are grouped by their
/// first segment (<c>embeddings</c>, <c>pooler</c>).
/// </summary>
public static partial class LayerNames
{
    /// <summary>The layer index, or null when the name has no all-digit segment.</summary>
    public static int? LayerIndex(string name)
    {
        var match = IndexSegment().Match(name);
        return match.Success && int.TryParse(match.Groups[1].ValueSpan, System.Globalization.CultureInfo.InvariantCulture, out int index) ? index : null;
    }

    /// <summary>The group a tensor's reset share is summed into: <c>layer 3</c>, or the first name segment.</summary>
    public static string Group(string name)
    {
        if (LayerIndex(name) is { } index)
        {
            return "layer " + index.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        int dot = name.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 ? name[..dot] : name;
    }

    /// <summary>The name with its layer index replaced by <c>*</c>: the same matrix across layers.</summary>
    public static string Kind(string name) => IndexSegment().Replace(name, m => m.Value.Replace(m.Groups[1].Value, "*", StringComparison.Ordinal), 1);

    [GeneratedRegex(@"(?:^|\.)(\d+)(?:\.|$)", RegexOptions.CultureInvariant)]
    private static partial Regex IndexSegment();
}
