using System.Text.Json;
using Ken.Format;

namespace Ken.Evaluation;

/// <summary>Reads evaluation rows from JSON Lines: <c>{"text": ..., "label": ...}</c>, blank lines skipped.</summary>
public static class EvalDataReader
{
    /// <summary>
    /// Reads the rows; with <paramref name="limit"/>, that many rows spread evenly over the file (test
    /// files are often grouped by source or label, so the first rows alone would be a biased sample).
    /// A malformed row is an error naming its line.
    /// </summary>
    public static IReadOnlyList<EvalExample> Read(string path, int? limit = null)
    {
        if (!File.Exists(path))
        {
            throw new KenException($"--data {path}: no such file; pass a JSON Lines file of {{\"text\": ..., \"label\": ...}} rows.");
        }

        var rows = new List<EvalExample>();
        int line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            rows.Add(Parse(text, path, line));
        }

        if (rows.Count == 0)
        {
            throw new KenException($"{path} holds no rows; each line must be {{\"text\": ..., \"label\": ...}}.");
        }

        if (limit is { } max && max < rows.Count)
        {
            var sample = new List<EvalExample>(max);
            for (long i = 0; i < max; i++)
            {
                sample.Add(rows[(int)(i * rows.Count / max)]);
            }

            return sample;
        }

        return rows;
    }

    private static EvalExample Parse(string json, string path, int line)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("text", out var text)
                || text.ValueKind != JsonValueKind.String
                || string.IsNullOrEmpty(text.GetString()))
            {
                throw new KenException($"{path} line {line}: expected an object with a non-empty string \"text\".");
            }

            string? label = null;
            if (root.TryGetProperty("label", out var l))
            {
                // Integer ids are accepted as their text; they still have to name a label of the task.
                label = l.ValueKind switch
                {
                    JsonValueKind.String => l.GetString(),
                    JsonValueKind.Number => l.GetRawText(),
                    JsonValueKind.Null => null,
                    _ => throw new KenException($"{path} line {line}: \"label\" must be a label name."),
                };
            }

            return new EvalExample(line, text.GetString()!, label);
        }
        catch (JsonException e)
        {
            throw new KenException($"{path} line {line}: not valid JSON ({e.Message})", e);
        }
    }
}
