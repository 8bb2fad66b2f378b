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

    [Fact]
    public void Over_an_onnx_base_a_matmul_weight_keeps_the_same_positions_in_each_group_of_16_rows_unless_block_layout_rows()
    {
        const string query = "encoder.layer.0.attention.self.query.weight";
        string serving = dir.File("serving.ken");
        string rows = dir.File("rows.ken");
        var r = CliRunner.Run("prune", "--base", "minilm", "--finetuned", "arctic-xs", "--keep", "0.05", "--method", "magnitude", "--block", "16", "--pooling", "cls", "-o", serving);
        Assert.True(r.ExitCode == 0, r.Stderr);
        r = CliRunner.Run("prune", "--base", "minilm", "--finetuned", "arctic-xs", "--keep", "0.05", "--method", "magnitude", "--block", "16", "--block-layout", "rows", "--pooling", "cls", "-o", rows);
        Assert.True(r.ExitCode == 0, r.Stderr);

        // The query weight is [384 out, 384 in] canonically and stored [in, out] by the graph.
        int[] Kept(PatchedTensor t, int row) => [.. Enumerable.Range(0, 384).Where(i => MaskBits.IsSet(t.Mask, (row * 384) + i))];
        var grouped = KenDeltaReader.Read(serving).PatchedTensors.Single(t => t.Name == query);
        var byRow = KenDeltaReader.Read(rows).PatchedTensors.Single(t => t.Name == query);
        int k = 19;
        for (int row = 0; row < 384; row++)
        {
            Assert.Equal(k, Kept(grouped, row).Length);
            Assert.Equal(Kept(grouped, row / 16 * 16), Kept(grouped, row));
        }

        Assert.NotEqual(Kept(byRow, 0), Kept(byRow, 1));
        Assert.All(Enumerable.Range(0, 384), row => Assert.All(Kept(byRow, row), i => Assert.True(MaskBits.IsSet(byRow.Mask, (row * 384) + (i / 16 * 16)))));
    }

    [Fact]
    public void An_unknown_block_layout_is_a_usage_error()
    {
        var (b, f) = WritePair();
        var r = CliRunner.Run("prune", "--base", b, "--finetuned", f, "--keep", "0.25", "--method", "magnitude", "--block", "16", "--block-layout", "columns", "--kind", "embedding", "-o", dir.File("x.ken"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("'columns' not recognized", r.Stderr, StringComparison.Ordinal);
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
