using Ken.Format;
using Ken.Format.Deltas;
using Ken.Pruning.Pipeline;
using Ken.Pruning.Selection;
using Ken.TestSupport;

namespace Ken.Pruning.Tests.Pipeline;

/// <summary>Block selection through the whole builder: masks, gathered values and metadata.</summary>
public sealed class BlockDeltaBuilderTests
{
    private static float[] Noise(int n, int seed, float scale)
    {
        var rng = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = (float)((rng.NextDouble() - 0.5) * scale);
        }

        return a;
    }

    /// <summary>150 rows (three 64-row chunks) of 384, and 150 rows of 40 (not a multiple of 16).</summary>
    private static (InMemoryCheckpoint Base, InMemoryCheckpoint Finetuned, float[] W, float[] WFt, float[] V, float[] VFt) Pair()
    {
        var w = Noise(150 * 384, 1, 0.2f);
        var v = Noise(150 * 40, 2, 0.2f);
        var wFt = w.Zip(Noise(w.Length, 3, 0.02f), (a, d) => a + d).ToArray();
        var vFt = v.Zip(Noise(v.Length, 4, 0.02f), (a, d) => a + d).ToArray();
        var b = new InMemoryCheckpoint("base")
            .Add("encoder.layer.0.dense.weight", [150, 384], w)
            .Add("encoder.layer.0.odd.weight", [150, 40], v);
        var f = new InMemoryCheckpoint("finetuned")
            .Add("encoder.layer.0.dense.weight", [150, 384], wFt)
            .Add("encoder.layer.0.odd.weight", [150, 40], vFt);
        return (b, f, w, wFt, v, vFt);
    }

    private static KenDelta Build(InMemoryCheckpoint b, InMemoryCheckpoint f, string method, int block, double keep) =>
        DeltaBuilder.Build(b, f, new PruneOptions { Budget = PruneBudget.Fraction(keep), Method = method, Block = block, Seed = 11, Kind = "embedding", Task = "t" }, null, TestContext.Current.CancellationToken);

    private static PatchedTensor Patched(KenDelta d, string name) => d.PatchedTensors.Single(t => t.Name == name);

    private static void AssertWholeBlocksAndValues(PatchedTensor t, int n, float[] finetuned)
    {
        var expected = new List<float>();
        for (int row = 0; row < finetuned.Length / n; row++)
        {
            for (int start = 0; start < n; start += 16)
            {
                int end = Math.Min(n, start + 16);
                int set = 0;
                for (int i = start; i < end; i++)
                {
                    if (MaskBits.IsSet(t.Mask, (row * n) + i))
                    {
                        set++;
                        expected.Add(finetuned[(row * n) + i]);
                    }
                }

                Assert.True(set == 0 || set == end - start, $"row {row} block at {start} is partly kept ({set} of {end - start})");
            }
        }

        Assert.Equal(expected, t.Values);
    }

    [Theory]
    [InlineData("magnitude", 0.05)]
    [InlineData("magnitude", 0.25)]
    [InlineData("random", 0.1)]
    public void Block_16_keeps_whole_aligned_blocks_and_the_budget(string method, double keep)
    {
        var (b, f, _, wFt, _, vFt) = Pair();
        var d = Build(b, f, method, 16, keep);
        var w = Patched(d, "encoder.layer.0.dense.weight");
        var v = Patched(d, "encoder.layer.0.odd.weight");
        AssertWholeBlocksAndValues(w, 384, wFt);
        AssertWholeBlocksAndValues(v, 40, vFt);

        // Row length a multiple of 16: the tensor keeps 16 * round(150 * k / 16) elements.
        int k = PruneBudget.Fraction(keep).KeptPerRow(384);
        long blocks = ((2L * 150 * k) + 16) / 32;
        Assert.Equal(blocks * 16, w.Values.Length);
        Assert.Equal(MaskBits.PopCount(w.Mask), w.Values.Length);

        // Rows of 40: same block count, minus 8 for every row whose kept blocks include its short tail.
        int k40 = PruneBudget.Fraction(keep).KeptPerRow(40);
        long blocks40 = ((2L * 150 * k40) + 16) / 32;
        Assert.InRange(v.Values.Length, (blocks40 * 16) - (150 * 8), blocks40 * 16);
        Assert.Equal(16, d.Metadata.Block);
        Assert.Equal(method, d.Metadata.Method);
    }

    [Theory]
    [InlineData("magnitude", 0.05)]
    [InlineData("random", 0.1)]
    public void A_tensor_stored_transposed_keeps_the_same_k_positions_in_each_aligned_group_of_16_rows(string method, double keep)
    {
        var (b, f, _, wFt, _, _) = Pair();
        b.StoredTransposed("encoder.layer.0.dense.weight");
        var d = Build(b, f, method, 16, keep);
        var t = Patched(d, "encoder.layer.0.dense.weight");
        int k = PruneBudget.Fraction(keep).KeptPerRow(384);

        // 150 rows: nine groups of 16 and a last group of 6; every row keeps exactly k, its group's positions.
        var expected = new List<float>();
        for (int row = 0; row < 150; row++)
        {
            var kept = Enumerable.Range(0, 384).Where(i => MaskBits.IsSet(t.Mask, (row * 384) + i)).ToArray();
            Assert.Equal(k, kept.Length);
            var leader = Enumerable.Range(0, 384).Where(i => MaskBits.IsSet(t.Mask, (row / 16 * 16 * 384) + i)).ToArray();
            Assert.Equal(leader, kept);
            expected.AddRange(kept.Select(i => wFt[(row * 384) + i]));
        }

        Assert.Equal(expected, t.Values);
        Assert.Equal(150 * k, t.Values.Length);

        // Not one group shares all its positions with the next: the groups choose independently.
        var firstGroup = Enumerable.Range(0, 384).Where(i => MaskBits.IsSet(t.Mask, i));
        var secondGroup = Enumerable.Range(0, 384).Where(i => MaskBits.IsSet(t.Mask, (16 * 384) + i));
        Assert.NotEqual(firstGroup, secondGroup);

        // The row-major tensor of the same checkpoint still keeps aligned runs of its rows.
        AssertWholeBlocksAndValues(Patched(d, "encoder.layer.0.odd.weight"), 40, Pair().VFt);
    }

    [Fact]
    public void Block_layout_rows_keeps_aligned_runs_of_each_row_even_where_the_tensor_is_stored_transposed()
    {
        var (b, f, _, wFt, _, _) = Pair();
        var rows = DeltaBuilder.Build(b, f, new PruneOptions { Budget = PruneBudget.Fraction(0.05), Method = "magnitude", Block = 16, Kind = "embedding", Task = "t" }, null, TestContext.Current.CancellationToken);
        b.StoredTransposed("encoder.layer.0.dense.weight");
        var asRows = DeltaBuilder.Build(b, f, new PruneOptions { Budget = PruneBudget.Fraction(0.05), Method = "magnitude", Block = 16, BlockLayout = BlockLayout.Rows, Kind = "embedding", Task = "t" }, null, TestContext.Current.CancellationToken);

        AssertWholeBlocksAndValues(Patched(asRows, "encoder.layer.0.dense.weight"), 384, wFt);
        Assert.Equal(Patched(rows, "encoder.layer.0.dense.weight").Mask, Patched(asRows, "encoder.layer.0.dense.weight").Mask);
    }

    [Fact]
    public void Block_one_builds_the_element_wise_delta_bit_for_bit()
    {
        var (b, f, w, wFt, _, _) = Pair();
        var d = Build(b, f, "magnitude", 1, 0.1);
        Assert.Null(d.Metadata.Block);
        var t = Patched(d, "encoder.layer.0.dense.weight");

        // The same rows selected directly by the element-wise selector.
        var selector = new MagnitudeSelector();
        int k = PruneBudget.Fraction(0.1).KeptPerRow(384);
        var mask = new byte[MaskBits.ByteLength(w.Length)];
        var positions = new int[k];
        for (int r = 0; r < 150; r++)
        {
            Assert.Equal(k, selector.SelectRow(wFt.AsSpan(r * 384, 384), w.AsSpan(r * 384, 384), k, r, positions));
            foreach (int p in positions)
            {
                MaskBits.Set(mask, (r * 384) + p);
            }
        }

        Assert.Equal(mask, t.Mask);
        Assert.Equal(150 * k, t.Values.Length);
    }

    [Fact]
    public void Block_metadata_survives_a_round_trip_and_ken_with_blocks_is_refused()
    {
        var (b, f, _, _, _, _) = Pair();
        using var temp = new TempDirectory();
        string path = temp.File("t.ken");
        KenDeltaWriter.Write(path, Build(b, f, "random", 16, 0.1));
        var read = KenDeltaReader.Read(path);
        Assert.Equal(16, read.Metadata.Block);
        Assert.Equal("random", read.Metadata.Method);
        var ex = Assert.Throws<KenException>(() => Build(b, f, "ken", 16, 0.1));
        Assert.Contains("--method ken", ex.Message, StringComparison.Ordinal);
        Assert.Throws<KenException>(() => (read.Metadata with { Method = "ken" }).ToDictionary());
    }
}
