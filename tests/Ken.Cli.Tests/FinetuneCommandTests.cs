using System.Text.Json;
using Ken.Format.Deltas;
using Ken.TestSupport;

namespace Ken.Cli.Tests;

/// <summary>
/// <c>ken finetune</c> on 24 real spam rows, then <c>ken prune</c>, <c>ken eval</c> and a live server on what it
/// wrote; and its usage errors. Every test of this assembly that trains is in this class, so no two train at
/// once in the test process (TorchSharp does not promise that concurrent training is safe).
/// </summary>
public sealed class FinetuneCommandTests(LiveServerFixture fx) : IClassFixture<LiveServerFixture>, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string Data => Path.Combine(AppContext.BaseDirectory, "Data", "spam-24.jsonl");

    [Fact]
    public void A_finetuned_folder_prunes_into_a_classification_delta_with_the_data_s_labels()
    {
        var folder = _dir.File("model");
        var r = CliRunner.Run("finetune", "--base", "minilm", "--data", Data, "--eval", Data, "-o", folder, "--batch", "8", "--max-length", "32", "--max-steps", "2");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("labels ham, spam, 2 steps", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("test accuracy", r.Stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(folder, "model.safetensors")));

        var delta = _dir.File("spam.ken");
        r = CliRunner.Run("prune", "--base", "minilm", "--finetuned", folder, "--keep", "0.1", "--method", "magnitude", "-o", delta);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var read = KenDeltaReader.Read(delta);
        Assert.Equal(TaskKind.Classification, read.Metadata.Kind);
        Assert.Equal(["ham", "spam"], read.Metadata.Labels);
    }

    [Fact]
    public void Prune_with_recover_trains_the_kept_positions_and_keeps_the_masks()
    {
        var folder = _dir.File("model");
        var r = CliRunner.Run("finetune", "--base", "minilm", "--data", Data, "-o", folder, "--batch", "8", "--max-length", "32", "--max-steps", "2");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var plain = _dir.File("plain.ken");
        var recovered = _dir.File("recovered.ken");
        r = CliRunner.Run("prune", "--base", "minilm", "--finetuned", folder, "--keep", "0.05", "--method", "magnitude", "-o", plain);
        Assert.True(r.ExitCode == 0, r.Stderr);
        r = CliRunner.Run("prune", "--base", "minilm", "--finetuned", folder, "--keep", "0.05", "--method", "magnitude", "-o", recovered,
            "--recover", "--data", Data, "--recover-steps", "2", "--recover-batch", "8", "--recover-max-length", "32");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("recovered on 24 rows: 2 steps", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("unkept positions changed: 0", r.Stdout, StringComparison.Ordinal);

        var before = KenDeltaReader.Read(plain);
        var after = KenDeltaReader.Read(recovered);
        Assert.All(before.PatchedTensors.Zip(after.PatchedTensors), p => Assert.Equal(p.First.Mask, p.Second.Mask));
        Assert.Contains(before.PatchedTensors.Zip(after.PatchedTensors), p => !p.First.Values.SequenceEqual(p.Second.Values));

        r = CliRunner.Run("eval", "--base", "minilm", "--finetuned", folder, "--data", Data, "--keep", "0.05", "--method", "magnitude",
            "--recover-data", Data, "--recover-steps", "1", "--recover-batch", "8", "--max-length", "32");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("magnitude+rec", r.Stdout, StringComparison.Ordinal);

        r = CliRunner.Run("prune", "--base", "minilm", "--finetuned", folder, "--keep", "0.05", "-o", _dir.File("x.ken"), "--recover");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--recover needs --data", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_finetuned_folder_is_pruned_registered_and_classified_as_ken_eval_scores_it()
    {
        // ken finetune on 24 real spam rows, ken prune, ken register, ken classify of those rows: the
        // server's accuracy must be the one ken eval measures for the same pruned delta in-process.
        string data = Data;
        string folder = fx.NewPath("finetuned-spam");
        var r = CliRunner.Run("finetune", "--base", "minilm", "--data", data, "-o", folder, "--batch", "8", "--max-length", "32", "--epochs", "2");
        Assert.True(r.ExitCode == 0, r.Stderr);
        string delta = fx.NewPath("finetuned-spam.ken");
        r = CliRunner.Run("prune", "--base", "minilm", "--finetuned", folder, "--keep", "0.1", "--method", "magnitude", "-o", delta);
        Assert.True(r.ExitCode == 0, r.Stderr);
        string evalJson = fx.NewPath("finetuned-spam-eval.json");
        r = CliRunner.Run("eval", "--base", "minilm", "--finetuned", folder, "--data", data, "--keep", "0.1", "--method", "magnitude", "--max-length", "32", "--json", evalJson);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var eval = JsonDocument.Parse(File.ReadAllText(evalJson));
        double evalAccuracy = eval.RootElement.GetProperty("results").EnumerateArray()
            .Single(x => x.GetProperty("method").GetString() == "magnitude").GetProperty("accuracy").GetDouble();

        Assert.Equal(0, fx.Ken("register", delta, "--task", "finetuned-spam", "--overwrite").ExitCode);
        var rows = File.ReadAllLines(data).Select(line => JsonDocument.Parse(line).RootElement)
            .Select(e => (Text: e.GetProperty("text").GetString()!, Label: e.GetProperty("label").GetString()!)).ToArray();
        r = fx.Ken(["classify", "--task", "finetuned-spam", "--json", .. rows.Select(x => x.Text)]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var labels = doc.RootElement.GetProperty("results").EnumerateArray().Select(x => x.GetProperty("label").GetString()).ToArray();
        Assert.Equal(rows.Length, labels.Length);
        Assert.All(labels, l => Assert.Contains(l, new[] { "ham", "spam" }));
        double served = rows.Where((x, i) => labels[i] == x.Label).Count() / (double)rows.Length;
        Assert.Equal(evalAccuracy, served, 6);
    }

    [Fact]
    public void Eval_reports_each_recovery_step_as_progress()
    {
        // Recovery is the longest part of ken eval --recover-data; its steps must reach the progress
        // display (a redirected log would otherwise stay silent for the whole recovery).
        var folder = _dir.File("model");
        var r = CliRunner.Run("finetune", "--base", "minilm", "--data", Data, "-o", folder, "--batch", "8", "--max-length", "32", "--max-steps", "2");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var reports = new List<Ken.Evaluation.EvalProgress>();
        var options = new Ken.Evaluation.EvalOptions
        {
            BaseModel = "minilm",
            Finetuned = folder,
            Budgets = [Ken.Pruning.Pipeline.PruneBudget.Fraction(0.05)],
            Methods = ["magnitude"],
            MaxSequenceLength = 32,
            Recover = Ken.Cli.Commands.PruneCommand.Recovery(Data, "minilm", steps: 3, lr: 5e-5, batch: 8),
        };

        var report = Ken.Evaluation.TaskEvaluator.Run(options, Ken.Evaluation.EvalDataReader.Read(Data), new Ken.Cli.Terminal.SynchronousProgress<Ken.Evaluation.EvalProgress>(reports.Add), TestContext.Current.CancellationToken);

        var recovery = reports.Where(p => p.Step.EndsWith(": recover", StringComparison.Ordinal)).ToList();
        Assert.Equal([1L, 2L, 3L], recovery.Select(p => p.Done));
        Assert.All(recovery, p => Assert.Equal(3, p.Total));
        Assert.Contains(report.Results, x => x.Method == "magnitude+rec");
    }

    [Theory]
    [InlineData("--epochs", "0", "--epochs must be at least 1")]
    [InlineData("--lr", "0", "--lr must be above 0")]
    public void Bad_settings_are_usage_errors(string flag, string value, string message)
    {
        var r = CliRunner.Run("finetune", "--base", "minilm", "--data", Data, "-o", _dir.File("x"), flag, value);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Stderr, StringComparison.Ordinal);
    }
}
