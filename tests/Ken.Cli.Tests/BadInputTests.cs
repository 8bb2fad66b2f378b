using Ken.TestSupport;
namespace Ken.Cli.Tests;

/// <summary>Every user error exits with a one-line message (no stack trace) and leaves no output file.</summary>
public sealed class BadInputTests : IDisposable
{
    private readonly TempDirectory dir = new();

    public void Dispose() => dir.Dispose();

    private (string Base, string Finetuned) WritePair(Action<Dictionary<string, TinyTensor>>? tweakFinetuned = null)
    {
        var b = TinyCheckpoint.Random(seed: 1);
        var f = TinyCheckpoint.Perturb(b, seed: 2);
        tweakFinetuned?.Invoke(f);
        string bp = dir.File("base.safetensors");
        string fp = dir.File("ft.safetensors");
        TinyCheckpoint.Write(bp, b);
        TinyCheckpoint.Write(fp, f);
        return (bp, fp);
    }

    private static void AssertOneLineError(CliResult r, int code, string mustContain)
    {
        Assert.Equal(code, r.ExitCode);
        Assert.Contains(mustContain, r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Tiny_pair_prunes()
    {
        var (b, f) = WritePair();
        var r = CliRunner.Run("prune", "--base", b, "--finetuned", f, "--k", "3", "-o", dir.File("t.ken"), "--kind", "embedding");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.True(File.Exists(dir.File("t.ken")));
    }

    [Theory]
    [InlineData("--k", "0")]
    [InlineData("--k", "-3")]
    [InlineData("--keep", "0")]
    [InlineData("--keep", "1.5")]
    [InlineData("--keep", "-0.2")]
    public void Invalid_budget_is_a_usage_error(string flag, string value)
    {
        var (b, f) = WritePair();
        var r = CliRunner.Run("prune", "--base", b, "--finetuned", f, flag, value, "-o", dir.File("t.ken"));
        AssertOneLineError(r, 2, flag);
        Assert.False(File.Exists(dir.File("t.ken")));
    }

    [Fact]
    public void Missing_or_double_budget_is_a_usage_error()
    {
        var (b, f) = WritePair();
        AssertOneLineError(CliRunner.Run("prune", "--base", b, "--finetuned", f, "-o", dir.File("t.ken")), 2, "exactly one budget");
        AssertOneLineError(CliRunner.Run("prune", "--base", b, "--finetuned", f, "--k", "2", "--keep", "0.5", "-o", dir.File("t.ken")), 2, "exactly one budget");
    }

    [Fact]
    public void Unknown_option_is_a_usage_error()
    {
        Assert.Equal(2, CliRunner.Run("prune", "--bogus").ExitCode);
        Assert.Equal(2, CliRunner.Run("nosuchcommand").ExitCode);
    }

    [Fact]
    public void Missing_input_file_says_what_to_pass()
    {
        var (b, _) = WritePair();
        var r = CliRunner.Run("prune", "--base", b, "--finetuned", dir.File("nope.safetensors"), "--k", "2", "-o", dir.File("t.ken"));
        AssertOneLineError(r, 1, "no such file or folder");
    }

    [Fact]
    public void Output_in_a_missing_folder_fails_before_any_work()
    {
        var (b, f) = WritePair();
        var r = CliRunner.Run("prune", "--base", b, "--finetuned", f, "--k", "2", "-o", dir.File("missing/t.ken"));
        AssertOneLineError(r, 1, "does not exist");
    }

    [Fact]
    public void Truncated_safetensors_is_reported_with_its_name()
    {
        var (b, f) = WritePair();
        var bytes = File.ReadAllBytes(f);
        File.WriteAllBytes(f, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        var r = CliRunner.Run("prune", "--base", b, "--finetuned", f, "--k", "2", "-o", dir.File("t.ken"));
        AssertOneLineError(r, 1, "ft.safetensors");
        Assert.False(File.Exists(dir.File("t.ken")));
    }

    [Fact]
    public void Corrupt_ken_file_is_reported_by_inspect()
    {
        string path = dir.File("bad.ken");
        File.WriteAllBytes(path, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        var r = CliRunner.Run("inspect", path);
        AssertOneLineError(r, 1, "bad.ken");
    }

    [Fact]
    public void Shape_mismatch_names_the_tensor()
    {
        var (b, f) = WritePair(ft => ft["encoder.layer.0.dense.weight"] = new TinyTensor([5, 3], new float[15]));
        var r = CliRunner.Run("prune", "--base", b, "--finetuned", f, "--k", "2", "-o", dir.File("t.ken"));
        AssertOneLineError(r, 1, "encoder.layer.0.dense.weight");
        Assert.Contains("shape", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Nan_in_a_finetuned_row_names_tensor_and_row()
    {
        var (b, f) = WritePair(ft => ft["encoder.layer.0.dense.weight"].Data[(2 * 4) + 1] = float.NaN);
        var r = CliRunner.Run("prune", "--base", b, "--finetuned", f, "--k", "2", "-o", dir.File("t.ken"));
        AssertOneLineError(r, 1, "encoder.layer.0.dense.weight");
        Assert.Contains("row 2", r.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("t.ken")));
    }

    [Fact]
    public void Infinity_in_a_finetuned_row_names_tensor_and_row()
    {
        var (b, f) = WritePair(ft => ft["encoder.layer.0.dense.bias"].Data[3] = float.PositiveInfinity);
        var r = CliRunner.Run("prune", "--base", b, "--finetuned", f, "--keep", "0.5", "-o", dir.File("t.ken"));
        AssertOneLineError(r, 1, "encoder.layer.0.dense.bias");
        Assert.Contains("row 0", r.Stderr, StringComparison.Ordinal);
    }
}
