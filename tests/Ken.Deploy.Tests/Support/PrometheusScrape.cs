using System.Globalization;
using System.Text.RegularExpressions;

namespace Ken.Deploy.Tests.Support;

/// <summary>One scrape of a Prometheus text endpoint: every sample's name, labels and value.</summary>
internal sealed partial class PrometheusScrape
{
    private readonly List<(string Name, Dictionary<string, string> Labels, double Value)> samples = [];

    private PrometheusScrape()
    {
    }

    public IEnumerable<string> Names => samples.Select(s => s.Name).Distinct(StringComparer.Ordinal);

    public static async Task<PrometheusScrape> ReadAsync(HttpClient http, string url, CancellationToken cancellationToken)
    {
        string text = await http.GetStringAsync(new Uri(url), cancellationToken);
        var scrape = new PrometheusScrape();
        foreach (string line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var match = SampleLine().Match(line);
            if (!match.Success)
            {
                throw new FormatException($"not a Prometheus sample line: {line}");
            }

            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match label in LabelPair().Matches(match.Groups["labels"].Value))
            {
                labels[label.Groups["k"].Value] = label.Groups["v"].Value;
            }

            scrape.samples.Add((match.Groups["name"].Value, labels, double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture)));
        }

        return scrape;
    }

    /// <summary>The sum of <paramref name="name"/> over the samples whose labels include every pair of <paramref name="labels"/>.</summary>
    public double Sum(string name, params (string Key, string Value)[] labels) =>
        samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).Sum(s => s.Value);

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)(\s+\d+)?\s*$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"(?<k>[a-zA-Z_][a-zA-Z0-9_]*)=""(?<v>(?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();
}
