using System.Globalization;

namespace Ken.Cli.Bench;

/// <summary>
/// The server counters <c>ken bench</c> compares before and after a run, summed over every label
/// set, parsed from a Prometheus text exposition.
/// </summary>
internal sealed record MetricsSnapshot(double Swaps, double SlotHits, double Batches, double Requests, DateTime TakenAt)
{
    public static MetricsSnapshot Parse(string text, DateTime takenAt) => new(
        Sum(text, "ken_swaps_total"),
        Sum(text, "ken_slot_hits_total"),
        Sum(text, "ken_batch_size_count"),
        Sum(text, "ken_requests_total"),
        takenAt);

    public static async Task<MetricsSnapshot> ScrapeAsync(HttpClient http, string url, CancellationToken cancellationToken)
    {
        string text = await http.GetStringAsync(new Uri(url), cancellationToken);
        return Parse(text, DateTime.UtcNow);
    }

    private static double Sum(string text, string name)
    {
        double sum = 0;
        foreach (var raw in text.AsSpan().EnumerateLines())
        {
            var line = raw.Trim();
            if (line.IsEmpty || line[0] == '#' || !line.StartsWith(name, StringComparison.Ordinal) || line.Length == name.Length)
            {
                continue;
            }

            char next = line[name.Length];
            if (next != '{' && next != ' ')
            {
                continue;
            }

            // The value follows the label set (which may hold spaces inside quotes), then an optional timestamp.
            int closing = line.LastIndexOf('}');
            var rest = (closing >= 0 ? line[(closing + 1)..] : line[name.Length..]).Trim();
            int space = rest.IndexOf(' ');
            var value = space < 0 ? rest : rest[..space];
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v))
            {
                sum += v;
            }
        }

        return sum;
    }
}
