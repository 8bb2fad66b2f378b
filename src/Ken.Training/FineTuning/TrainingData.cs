using System.Text.Json;
using Ken.Format;

namespace Ken.Training.FineTuning;

/// <summary>
/// Labelled texts from JSON Lines (<c>{"text": ..., "label": ...}</c>, a label being a string or a number).
/// The labels of the training file, sorted, are the task's labels; an evaluation file may use only those.
/// Every bad row is a one-line error naming its file and line.
/// </summary>
public sealed class TrainingData
{
    private TrainingData(IReadOnlyList<string> labels, IReadOnlyList<LabeledText> rows)
    {
        Labels = labels;
        Rows = rows;
    }

    /// <summary>Label names in id order.</summary>
    public IReadOnlyList<string> Labels { get; }

    public IReadOnlyList<LabeledText> Rows { get; }

    /// <summary>Reads a training file; its distinct labels (at least two), sorted ordinally, become the label ids.</summary>
    public static TrainingData ReadTraining(string path)
    {
        var raw = ReadRaw(path);
        var labels = raw.Select(r => r.Label).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (labels.Length < 2)
        {
            throw new KenException($"{path}: every row has the label '{labels[0]}'; a classifier needs at least two labels.");
        }

        var ids = labels.Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i, StringComparer.Ordinal);
        return new TrainingData(labels, [.. raw.Select(r => new LabeledText(r.Text, ids[r.Label]))]);
    }

    /// <summary>Reads an evaluation file against the training labels <paramref name="labels"/>.</summary>
    public static TrainingData ReadEvaluation(string path, IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var ids = labels.Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i, StringComparer.Ordinal);
        var rows = new List<LabeledText>();
        foreach (var r in ReadRaw(path))
        {
            if (!ids.TryGetValue(r.Label, out var id))
            {
                throw new KenException($"{path} line {r.Line}: label '{r.Label}' is not in the training data, whose labels are {string.Join(", ", labels)}.");
            }

            rows.Add(new LabeledText(r.Text, id));
        }

        return new TrainingData(labels, rows);
    }

    private static List<(string Text, string Label, int Line)> ReadRaw(string path)
    {
        if (!File.Exists(path))
        {
            throw new KenException($"{path}: no such file; pass a JSON Lines file of {{\"text\": ..., \"label\": ...}} rows.");
        }

        var rows = new List<(string, string, int)>();
        var line = 0;
        foreach (var json in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(json))
            {
                continue;
            }

            rows.Add(Parse(json, path, line));
        }

        if (rows.Count == 0)
        {
            throw new KenException($"{path} holds no rows; each line must be {{\"text\": ..., \"label\": ...}}.");
        }

        return rows;
    }

    private static (string Text, string Label, int Line) Parse(string json, string path, int line)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new KenException($"{path} line {line}: not JSON ({e.Message}).");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
            {
                throw new KenException($"{path} line {line}: expected {{\"text\": \"...\", \"label\": ...}} with a string text.");
            }

            if (string.IsNullOrWhiteSpace(text.GetString()))
            {
                throw new KenException($"{path} line {line}: the text is empty.");
            }

            if (!root.TryGetProperty("label", out var label) || label.ValueKind is not (JsonValueKind.String or JsonValueKind.Number))
            {
                throw new KenException($"{path} line {line}: no label (a string or a number).");
            }

            var name = label.ValueKind == JsonValueKind.String ? label.GetString()! : label.GetRawText();
            return (text.GetString()!, name, line);
        }
    }
}
