using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Ken.Cli.Terminal;

namespace Ken.Cli.Commands;

/// <summary><c>ken classify</c> and <c>ken embed</c>: inference on a running server.</summary>
internal static class InferenceCommands
{
    public static Command Classify(TextWriter stdout)
    {
        var taskOption = new Option<string>("--task") { Description = "A registered classification task.", Required = true };
        var textsArgument = new Argument<string[]>("TEXT") { Description = "Texts to classify.", Arity = ArgumentArity.ZeroOrMore };
        var fileOption = new Option<string?>("--file") { Description = "More texts, JSON Lines: a string or {\"text\": ...} per line; - reads stdin." };
        var topKOption = new Option<uint>("--top-k") { Description = "Scores per text, best first (0: every label in label order)." };
        var batchOption = BatchOption();
        var jsonOption = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var server = new ServerConnection();
        var command = new Command("classify", "Classify texts with a task on a running server.") { taskOption, textsArgument, fileOption, topKOption, batchOption, jsonOption };
        server.AddTo(command);
        command.SetAction(parse =>
        {
            var texts = TextInputs.Collect(parse.GetValue(textsArgument), parse.GetValue(fileOption));
            string task = parse.GetRequiredValue(taskOption);
            int batch = CheckBatch(parse.GetValue(batchOption));
            return server.Run(parse, async (client, ct) =>
            {
                var results = new List<ClassificationView>(texts.Count);
                foreach (var chunk in texts.Chunk(batch))
                {
                    var response = await client.ClassifyAsync(task, chunk, parse.GetValue(topKOption), ct);
                    for (int i = 0; i < response.Results.Count; i++)
                    {
                        var r = response.Results[i];
                        results.Add(new ClassificationView(chunk[i], r.Label, r.Score, [.. r.Scores.Select(s => new LabelScoreView(s.Label, s.Score))], r.Truncated));
                    }
                }

                if (parse.GetValue(jsonOption))
                {
                    stdout.WriteLine(JsonSerializer.Serialize(new ClassifyView(task, results), ReportJson.Options));
                    return CommandLineApp.Success;
                }

                var table = new TextTable("text", "label", "score", "scores");
                foreach (var r in results)
                {
                    string scores = string.Join(" ", r.Scores.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Label}={s.Score:F3}")));
                    table.Add(Shorten(r.Text), r.Label, r.Score.ToString("F3", CultureInfo.InvariantCulture), scores);
                }

                table.Write(stdout);
                return CommandLineApp.Success;
            });
        });
        return command;
    }

    public static Command Embed(TextWriter stdout)
    {
        var taskOption = new Option<string>("--task") { Description = "A registered embedding task.", Required = true };
        var textsArgument = new Argument<string[]>("TEXT") { Description = "Texts to embed.", Arity = ArgumentArity.ZeroOrMore };
        var fileOption = new Option<string?>("--file") { Description = "More texts, JSON Lines: a string or {\"text\": ...} per line; - reads stdin." };
        var batchOption = BatchOption();
        var jsonOption = new Option<bool>("--json") { Description = "Print JSON (every vector) instead of a summary table." };
        var server = new ServerConnection();
        var command = new Command("embed", "Embed texts with a task on a running server.") { taskOption, textsArgument, fileOption, batchOption, jsonOption };
        server.AddTo(command);
        command.SetAction(parse =>
        {
            var texts = TextInputs.Collect(parse.GetValue(textsArgument), parse.GetValue(fileOption));
            string task = parse.GetRequiredValue(taskOption);
            int batch = CheckBatch(parse.GetValue(batchOption));
            return server.Run(parse, async (client, ct) =>
            {
                var results = new List<EmbeddingView>(texts.Count);
                foreach (var chunk in texts.Chunk(batch))
                {
                    var response = await client.EmbedAsync(task, chunk, ct);
                    for (int i = 0; i < response.Embeddings.Count; i++)
                    {
                        var e = response.Embeddings[i];
                        results.Add(new EmbeddingView(chunk[i], e.Values.Count, [.. e.Values], e.Truncated));
                    }
                }

                if (parse.GetValue(jsonOption))
                {
                    stdout.WriteLine(JsonSerializer.Serialize(new EmbedView(task, results), ReportJson.Options));
                    return CommandLineApp.Success;
                }

                var table = new TextTable("text", "dim", "norm", "first values");
                foreach (var e in results)
                {
                    double norm = Math.Sqrt(e.Values.Sum(v => (double)v * v));
                    string head = string.Join(" ", e.Values.Take(4).Select(v => v.ToString("F4", CultureInfo.InvariantCulture))) + (e.Dim > 4 ? " ..." : string.Empty);
                    table.Add(Shorten(e.Text), e.Dim.ToString(CultureInfo.InvariantCulture), norm.ToString("F4", CultureInfo.InvariantCulture), "[" + head + "]");
                }

                table.Write(stdout);
                return CommandLineApp.Success;
            });
        });
        return command;
    }

    private static Option<int> BatchOption() =>
        new("--batch") { Description = "Texts per request (the server caps this with --max-texts).", DefaultValueFactory = _ => 32 };

    private static int CheckBatch(int batch) =>
        batch >= 1 ? batch : throw new UsageException("--batch must be at least 1.");

    private static string Shorten(string text)
    {
        string flat = text.ReplaceLineEndings(" ");
        return flat.Length <= 48 ? flat : flat[..45] + "...";
    }
}
