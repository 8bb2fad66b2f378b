using Ken.Format.Deltas;
using Ken.TestSupport;

namespace Ken.Cli.Tests;

/// <summary><c>ken prune --block</c> on real safetensors files: whole aligned runs in the written mask, the refusals.</summary>
public sealed class BlockPruneTests : IDisposable
{
    private const string Name = "encoder.layer.0.dense.weight";
    private readonly TempDirectory dir = new();

    public void Dispose() => dir.Dispose();

    /// <summary>8 rows of 64; row r's block r % 4 moved by 0.5 per element, the rest by noise below 0.01.</summary>
    private (string Base, string Finetuned) WritePair()
    {
        var rng = new Random(4);
        var b = new float[8 * 64];
        var f = new float[b.Length];
        for (int i = 0; i < b.Length; i++)
        {
            b[i] = (float)((rng.NextDouble() - 0.5) * 0.2);
            int row = i / 64, block = i % 64 / 16;
            f[i] = b[i] + (block == row % 4 ? 0.5f : (float)(rng.NextDouble() * 0.01));
        }

        string bp = dir.File("base.safetensors");
        string fp = dir.File("ft.safetensors");
        TinyCheckpoint.Write(bp, new(StringComparer.Ordinal) { [Name] = new([8, 64], b) });
        TinyCheckpoint.Write(fp, new(StringComparer.Ordinal) { [Name] = new([8, 64], f) });
        return (bp, fp);
    }

    [Fact]
    public void Magnitude_block_16_writes_one_whole_aligned_block_per_row_and_records_it()
    {
        var (b, f) = WritePair();
        string output = dir.File("t.ken");
        var r = CliRunner.Run("prune", "--base", b, "--finetuned", f, "--keep", "0.25", "--method", "magnitude", "--block", "16", "--kind", "embedding", "-o", output);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("magnitude block 16 keep=0.25", r.Stdout, StringComparison.Ordinal);

        var delta = KenDeltaReader.Read(output);
        Assert.Equal(16, delta.Metadata.Block);
        var mask = delta.PatchedTensors.Single().Mask;
        for (int i = 0; i < 8 * 64; i++)
        {
            int row = i / 64, block = i % 64 / 16;
            Assert.Equal(block == row % 4, MaskBits.IsSet(mask, i));
        }

        Assert.Equal(8 * 16, delta.PatchedTensors.Single().Values.Length);
    }

    [Fact]
    public void Without_block_the_metadata_has_no_block_key()
    {
        var (b, f) = WritePair();
        string output = dir.File("u.ken");
        var r = CliRunner.Run("prune", "--base", b, "--finetuned", f, "--keep", "0.25", "--method", "random", "--kind", "embedding", "-o", output);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Null(KenDeltaReader.Read(output).Metadata.Block);
    }

    [Theory]
    [InlineData("ken", "16", "--block 16 cannot be used with --method ken")]
    [InlineData("magnitude", "0", "--block 0 is not a valid block size")]
    public void Ken_with_block_or_a_block_below_one_is_a_usage_error(string method, string block, string message)
    {
        var (b, f) = WritePair();
        string output = dir.File("bad.ken");
        var r = CliRunner.Run("prune", "--base", b, "--finetuned", f, "--keep", "0.25", "--method", method, "--block", block, "--kind", "embedding", "-o", output);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
    }
}
