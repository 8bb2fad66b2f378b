using System.Globalization;
using System.Text.Json;

namespace Ken.Pruning.Tests.Selection;

/// <summary>Loads the ken-parity fixtures copied into Data/ken-parity.</summary>
internal static class KenParityFixtures
{
    private static readonly Lazy<IReadOnlyDictionary<string, KenParityCase>> PublicCases = new(() => Load("public.json"));
    private static readonly Lazy<IReadOnlyDictionary<string, KenParityCase>> ErrorCases = new(() => Load("errors.json"));

    internal static IReadOnlyDictionary<string, KenParityCase> Public => PublicCases.Value;

    internal static IReadOnlyDictionary<string, KenParityCase> Errors => ErrorCases.Value;

    private static Dictionary<string, KenParityCase> Load(string file)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Data", "ken-parity", file);
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var cases = new Dictionary<string, KenParityCase>(StringComparer.Ordinal);
        foreach (JsonElement c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            string name = c.GetProperty("name").GetString()!;
            var row = c.GetProperty("row").EnumerateArray().Select(ParseValue).ToArray();
            int[]? expected = c.TryGetProperty("expected", out JsonElement e)
                ? e.EnumerateArray().Select(v => v.GetInt32()).ToArray()
                : null;
            cases.Add(name, new KenParityCase(name, c.GetProperty("k").GetInt32(), row, expected));
        }

        return cases;
    }

    // Rows are float32 values written as exact doubles; non-finite ones are strings.
    private static float ParseValue(JsonElement v) => v.ValueKind == JsonValueKind.String
        ? v.GetString() switch
        {
            "inf" => float.PositiveInfinity,
            "-inf" => float.NegativeInfinity,
            "nan" => float.NaN,
            var s => throw new FormatException($"unexpected value {s}"),
        }
        : (float)v.GetDouble();
}

internal sealed record KenParityCase(string Name, int K, float[] Row, int[]? Expected)
{
    public override string ToString() => Name;
}

internal static class KenParityCaseFormatting
{
    internal static string Describe(IEnumerable<int> positions) =>
        string.Join(",", positions.Select(p => p.ToString(CultureInfo.InvariantCulture)));
}
