using System.Text.Json;
using Ken.Format;

namespace Ken.Cli.Commands;

/// <summary>
/// Texts from the command line and JSON Lines files: each line is a JSON string or an object with a
/// <c>text</c> field; blank lines are skipped; <c>-</c> reads standard input.
/// </summary>
internal static class TextInputs
{
    public static List<string> Collect(IEnumerable<string>? arguments, string? file)
    {
        var texts = new List<string>(arguments ?? []);
        if (file is not null)
        {
            texts.AddRange(ReadJsonLines(file));
        }

        if (texts.Count == 0)
        {
            throw new UsageException("no texts; pass them as arguments or with --file in.jsonl.");
        }

        return texts;
    }

    public static List<string> ReadJsonLines(string file)
    {
        var texts = new List<string>();
        using var reader = file == "-" ? new StreamReader(Console.OpenStandardInput()) : new StreamReader(file);
        int number = 0;
        while (reader.ReadLine() is { } line)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            texts.Add(Parse(line, file, number));
        }

        return texts;
    }

    private static string Parse(string line, string file, int number)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.String)
            {
                return root.GetString()!;
            }

            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
            {
                return text.GetString()!;
            }
        }
        catch (JsonException)
        {
            // Reported below with the line number.
        }

        throw new KenException($"{file} line {number} is neither a JSON string nor an object with a \"text\" string; write one text per line, e.g. {{\"text\": \"...\"}}.");
    }
}
