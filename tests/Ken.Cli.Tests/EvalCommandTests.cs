using System.Text.Json;
using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Onnx;
using Ken.TestSupport;

namespace Ken.Cli.Tests;

/// <summary>
/// <c>ken eval</c> end to end on a hand-made "fine-tune" of minilm: one attention matrix moved, and
/// (for classification) a head whose bias outweighs everything, so every text is predicted as
/// label 0 whatever the budget, and the expected scores follow from the gold labels alone.
/// </summary>
public sealed class EvalCommandTests : IDisposable
{
    private const string Moved = "encoder.layer.0.attention.self.query.weight";
    private readonly TempDirectory dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public void Classification_scores_match_the_known_predictions_at_every_budget_and_method()
    {
        string model = WriteFinetune(withHead: true);
        string data = WriteData(("a short text", "neg"), ("another one", "neg"), ("a third", "neg"), ("the last", "pos"));
        string json = dir.File("report.json");
        string plot = dir.File("report.png");

        var result = CliRunner.Run(
            "eval", "--base", "minilm", "--finetuned", model, "--data", data, "--keep", "0.5", "--k", "96",
            "--method", "ken,magnitude,random", "--pooling", "cls", "--json", json, "--plot", plot);

        Assert.True(result.ExitCode == 0, result.Stderr);
        using var report = JsonDocument.Parse(File.ReadAllText(json));
        var results = report.RootElement.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal(["dense", "ken", "magnitude", "random", "ken", "magnitude", "random"], results.Select(r => r.GetProperty("method").GetString()));
        foreach (var r in results)
        {
            // 3 of 4 right (all predicted neg); F1 neg = 6/7, F1 pos = 0.
            Assert.Equal(0.75, r.GetProperty("accuracy").GetDouble(), 12);
            Assert.Equal(3.0 / 7.0, r.GetProperty("macro_f1").GetDouble(), 12);
            Assert.True(r.GetProperty("ken_bytes").GetInt64() > 0);
        }

        Assert.Equal(0, results[0].GetProperty("fraction_reset").GetDouble());
        Assert.Equal(0.5, results[1].GetProperty("fraction_reset").GetDouble(), 12);
        Assert.Equal(0.75, results[4].GetProperty("fraction_reset").GetDouble(), 12); // k 96 of 384
        Assert.Equal(0.5, results[1].GetProperty("keep").GetDouble());
        Assert.Equal(96, results[4].GetProperty("k").GetInt32());

        // Magnitude keeps the largest changes, so it loses less of the fine-tuning than random does.
        double magnitudeError = results[2].GetProperty("reconstruction_error").GetDouble();
        double randomError = results[3].GetProperty("reconstruction_error").GetDouble();
        Assert.InRange(magnitudeError, 0, randomError);
        Assert.InRange(randomError, 0.3, 0.7);

        Assert.True(new FileInfo(plot).Length > 1000);
        Assert.Contains("magnitude", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("accuracy", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void An_embedding_model_is_scored_by_cosine_to_the_dense_embeddings()
    {
        string model = WriteFinetune(withHead: false);
        string data = WriteData(("the quick brown fox", null), ("jumps over the lazy dog", null), ("serving many tasks", null));
        string json = dir.File("embed.json");

        var result = CliRunner.Run(
            "eval", "--base", "minilm", "--finetuned", model, "--data", data, "--keep", "1,0.25", "--method", "magnitude", "--json", json);

        Assert.True(result.ExitCode == 0, result.Stderr);
        using var report = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal("embedding", report.RootElement.GetProperty("kind").GetString());
        var results = report.RootElement.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal(1.0, results[0].GetProperty("mean_cosine").GetDouble(), 6);
        Assert.Equal(1.0, results[1].GetProperty("min_cosine").GetDouble(), 6); // keep 1: the same weights
        double mean = results[2].GetProperty("mean_cosine").GetDouble();
        double min = results[2].GetProperty("min_cosine").GetDouble();
        Assert.InRange(min, 0, mean);
        Assert.InRange(mean, 0.5, 1.0);
        Assert.False(results[2].TryGetProperty("accuracy", out _));
    }

    [Fact]
    public void An_unknown_label_is_a_one_line_error_naming_its_line()
    {
        string model = WriteFinetune(withHead: true);
        string data = WriteData(("fine", "neg"), ("bad", "maybe"));

        var result = CliRunner.Run("eval", "--base", "minilm", "--finetuned", model, "--data", data, "--keep", "0.5", "--method", "magnitude");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("line 2", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("'maybe'", result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public void A_missing_budget_or_unknown_method_is_a_usage_error()
    {
        Assert.Equal(2, CliRunner.Run("eval", "--base", "minilm", "--finetuned", "x", "--data", "y").ExitCode);
        Assert.Equal(2, CliRunner.Run("eval", "--base", "minilm", "--finetuned", "x", "--data", "y", "--keep", "0.5", "--method", "ken,best").ExitCode);
        Assert.Equal(2, CliRunner.Run("eval", "--base", "minilm", "--finetuned", "x", "--data", "y", "--keep", "1.5").ExitCode);
    }

    private string WriteFinetune(bool withHead)
    {
        var minilm = DefaultModels.Get("minilm");
        using var checkpoint = OnnxCheckpoint.Open(minilm.ModelPath);
        Assert.True(checkpoint.TryGetInfo(Moved, out var info));
        var query = new float[info.ElementCount];
        checkpoint.ReadFloat32(Moved, query);
        var rng = new Random(3);
        for (int i = 0; i < query.Length; i++)
        {
            query[i] += (float)((rng.NextDouble() - 0.5) * 0.02);
        }

        var tensors = new Dictionary<string, TinyTensor>(StringComparer.Ordinal)
        {
            ["bert." + Moved] = new([.. info.Shape], query),
        };
        if (withHead)
        {
            // Zero weights make the logits equal the bias: label 0, whatever the encoder computes.
            tensors["classifier.weight"] = new([2, 384], new float[2 * 384]);
            tensors["classifier.bias"] = new([2], [1000f, 0f]);
        }

        string folder = dir.File(withHead ? "classifier" : "embedder");
        Directory.CreateDirectory(folder);
        TinyCheckpoint.Write(Path.Combine(folder, "model.safetensors"), tensors);
        if (withHead)
        {
            File.WriteAllText(Path.Combine(folder, "config.json"), """{"id2label": {"0": "neg", "1": "pos"}, "max_length": 32}""");
        }

        return folder;
    }

    private string WriteData(params (string Text, string? Label)[] rows)
    {
        string path = dir.File("data.jsonl");
        File.WriteAllLines(path, rows.Select(r => JsonSerializer.Serialize(r.Label is null
            ? new Dictionary<string, string> { ["text"] = r.Text }
            : new Dictionary<string, string> { ["text"] = r.Text, ["label"] = r.Label })));
        return path;
    }
}
