using System.Globalization;
using System.Text;

namespace Ken.Server.Tests.Telemetry;

/// <summary>One sample of the Prometheus text exposition: a series name, its labels and its value.</summary>
internal sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>
/// A small parser of the Prometheus text exposition format (version 0.0.4): <c># TYPE</c> lines and
/// samples <c>name{label="value",...} value [timestamp]</c>, with the format's label escapes.
/// </summary>
internal sealed class PrometheusText
{
    private readonly Dictionary<string, string> _types = new(StringComparer.Ordinal);
    private readonly List<PrometheusSample> _samples = [];

    private PrometheusText()
    {
    }

    public IReadOnlyList<PrometheusSample> Samples => _samples;

    /// <summary>The declared type of the metric family (<c>counter</c>, <c>histogram</c>, ...), or null when undeclared.</summary>
    public string? TypeOf(string family) => _types.GetValueOrDefault(family);

    /// <summary>The sum of <paramref name="name"/>'s samples whose labels include all of <paramref name="labels"/>; 0 when there are none.</summary>
    public double Value(string name, params (string Key, string Value)[] labels) =>
        _samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).Sum(s => s.Value);

    public static PrometheusText Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parsed = new PrometheusText();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0)
            {
                continue;
            }

            if (line[0] == '#')
            {
                var parts = line.Split(' ', 4, StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 4 && parts[1] == "TYPE")
                {
                    parsed._types[parts[2]] = parts[3].Trim();
                }

                continue;
            }

            parsed._samples.Add(ParseSample(line));
        }

        return parsed;
    }

    private static PrometheusSample ParseSample(string line)
    {
        var i = 0;
        while (i < line.Length && line[i] != '{' && line[i] != ' ')
        {
            i++;
        }

        var name = line[..i];
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (line[i] != '}')
            {
                var eq = line.IndexOf('=', i);
                var key = line[i..eq].Trim();
                if (line[eq + 1] != '"')
                {
                    throw new FormatException($"label {key} has no quoted value: {line}");
                }

                var value = new StringBuilder();
                var j = eq + 2;
                for (; line[j] != '"'; j++)
                {
                    if (line[j] == '\\')
                    {
                        j++;
                        value.Append(line[j] switch { 'n' => '\n', var c => c });
                    }
                    else
                    {
                        value.Append(line[j]);
                    }
                }

                labels[key] = value.ToString();
                i = j + 1;
                if (line[i] == ',')
                {
                    i++;
                }
            }

            i++;
        }

        var fields = line[i..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length is < 1 or > 2)
        {
            throw new FormatException($"a sample needs a value and at most a timestamp: {line}");
        }

        return new PrometheusSample(name, labels, ParseValue(fields[0]));
    }

    private static double ParseValue(string text) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };
}
