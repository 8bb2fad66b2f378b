using System.Text.Json;
using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Onnx;
using Ken.TestSupport;

namespace Ken.Cli.Tests;

/// <summary>
/// <c>ken eval</c> end to end on a hand-made "fine-tune" of minilm: one attention matrix moved and,
/// for classification, one coordinate of the last layer's LayerNorm bias raised by 1000, with a
/// head that reads that coordinate of the CLS vector. A model serving the raised value predicts
/// "pos" for every text, one that resets it predicts "neg", whatever the text: so each reported
/// score says which weights were served.
/// </summary>
public sealed class EvalCommandTests : IDisposable
{
    private const string Moved = "encoder.layer.0.attention.self.query.weight";
    private const string Raised = "encoder.layer.5.output.LayerNorm.bias";
    private const int RaisedAt = 17;
    private readonly TempDirectory dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public void Classification_scores_follow_whether_each_budget_and_method_kept_the_raised_weight()
    {
        string model = WriteFinetune(withHead: true);
        string data = WriteData(("a short text", "pos"), ("another one", "pos"), ("a third", "pos"), ("the last", "neg"));
        string json = dir.File("report.json");
        string plot = dir.File("report.png");

        var result = CliRunner.Run(
            "eval", "--base", "minilm", "--finetuned", model, "--data", data, "--keep", "0.5", "--k", "1",
            "--method", "ken,magnitude,random", "--pooling", "cls", "--json", json, "--plot", plot);

        Assert.True(result.ExitCode == 0, result.Stderr);
        using var report = JsonDocument.Parse(File.ReadAllText(json));
        var results = report.RootElement.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal(["dense", "ken", "magnitude", "random", "ken", "magnitude", "random"], results.Select(r => r.GetProperty("method").GetString()));

        // Served with the raised value, every text is "pos": 3 of 4 right, F1 pos = 6/7, F1 neg = 0.
        // Reset to minilm's, every text is "neg": 1 of 4 right, F1 neg = 2/5, F1 pos = 0.
        const double KeptAccuracy = 0.75, KeptMacroF1 = 3.0 / 7.0, ResetAccuracy = 0.25, ResetMacroF1 = 0.2;
        void AssertKept(JsonElement r, bool kept)
        {
            Assert.Equal(kept ? KeptAccuracy : ResetAccuracy, r.GetProperty("accuracy").GetDouble(), 12);
            Assert.Equal(kept ? KeptMacroF1 : ResetMacroF1, r.GetProperty("macro_f1").GetDouble(), 12);
        }

        AssertKept(results[0], kept: true); // dense: the fine-tuned weights themselves
        AssertKept(results[2], kept: true); // magnitude keeps a row's largest change, at any budget
        AssertKept(results[5], kept: true);
        AssertKept(results[4], kept: false); // ken, k 1: one grid point, at the row's minimum, so not the raised value

        // Random at keep 0.5 and ken at keep 0.5 may keep it or not, but must agree with one of the two outcomes.
        foreach (var r in new[] { results[1], results[3], results[6] })
        {
            AssertKept(r, kept: r.GetProperty("accuracy").GetDouble() > 0.5);
            Assert.True(r.GetProperty("ken_bytes").GetInt64() > 0);
        }

        Assert.Equal(0, results[0].GetProperty("fraction_reset").GetDouble());
        Assert.Equal(0.5, results[1].GetProperty("fraction_reset").GetDouble(), 12);
        Assert.Equal(383.0 / 384.0, results[4].GetProperty("fraction_reset").GetDouble(), 12); // k 1 of 384 per row
        Assert.Equal(0.5, results[1].GetProperty("keep").GetDouble());
        Assert.Equal(1, results[4].GetProperty("k").GetInt32());

        // Magnitude keeps the largest changes, so it loses less of the fine-tuning than random does.
        double magnitudeError = results[2].GetProperty("reconstruction_error").GetDouble();
        double randomError = results[3].GetProperty("reconstruction_error").GetDouble();
        Assert.InRange(magnitudeError, 0, randomError);

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
    public void Block_runs_each_block_method_beside_its_element_wise_run_at_the_same_reset()
    {
        string model = WriteFinetune(withHead: true);
        string data = WriteData(("a short text", "pos"), ("the last", "neg"));
        string json = dir.File("block.json");

        var result = CliRunner.Run(
            "eval", "--base", "minilm", "--finetuned", model, "--data", data, "--keep", "0.25",
            "--method", "ken,magnitude", "--block", "16", "--pooling", "cls", "--json", json);

        Assert.True(result.ExitCode == 0, result.Stderr);
        using var report = JsonDocument.Parse(File.ReadAllText(json));
        var results = report.RootElement.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal(["dense", "ken", "magnitude", "magnitude-b16"], results.Select(r => r.GetProperty("method").GetString()));
        Assert.Equal([1, 1, 1, 16], results.Select(r => r.GetProperty("block").GetInt32()));

        // Rows of 384 at keep 0.25 keep 96 = 6 whole blocks each: the same reset fraction as element-wise.
        Assert.Equal(0.75, results[3].GetProperty("fraction_reset").GetDouble(), 12);

        // The raised coordinate's block has by far the largest mean change, so blocks keep it too.
        Assert.Equal(0.5, results[3].GetProperty("accuracy").GetDouble(), 12);
        Assert.Equal(results[0].GetProperty("accuracy").GetDouble(), results[3].GetProperty("accuracy").GetDouble(), 12);

        // Whole blocks carry part of the moved matrix's change that single elements would not.
        Assert.InRange(results[2].GetProperty("reconstruction_error").GetDouble(), 0, results[3].GetProperty("reconstruction_error").GetDouble());
        Assert.Contains("magnitude-b16", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Block_without_a_block_method_or_below_one_is_a_usage_error()
    {
        var ken = CliRunner.Run("eval", "--base", "minilm", "--finetuned", "x", "--data", "y", "--keep", "0.5", "--method", "ken", "--block", "16");
        Assert.Equal(2, ken.ExitCode);
        Assert.Contains("--block 16 needs magnitude or random", ken.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, CliRunner.Run("eval", "--base", "minilm", "--finetuned", "x", "--data", "y", "--keep", "0.5", "--block", "0").ExitCode);
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
            // LayerNorm outputs stay far below 500 in magnitude, so the raised coordinate of the CLS
            // vector is about 1000 when served and below 500 when reset: logit "pos" = that coordinate,
            // logit "neg" = 500.
            Assert.True(checkpoint.TryGetInfo(Raised, out var biasInfo));
            var bias = new float[biasInfo.ElementCount];
            checkpoint.ReadFloat32(Raised, bias);
            bias[RaisedAt] += 1000f;
            tensors["bert." + Raised] = new([.. biasInfo.Shape], bias);
            var head = new float[2 * 384];
            head[384 + RaisedAt] = 1f;
            tensors["classifier.weight"] = new([2, 384], head);
            tensors["classifier.bias"] = new([2], [500f, 0f]);
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
