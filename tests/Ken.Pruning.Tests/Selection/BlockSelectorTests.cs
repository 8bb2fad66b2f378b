using Ken.Format;
using Ken.Pruning.Selection;

namespace Ken.Pruning.Tests.Selection;

public class BlockSelectorTests
{
    private static float[] Noise(int n, int seed, float scale = 0.1f)
    {
        var rng = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = (float)((rng.NextDouble() - 0.5) * scale);
        }

        return a;
    }

    private static int[] Select(IRowSelector selector, float[] ft, float[] pt, int k, long row)
    {
        var positions = new int[ft.Length];
        int count = selector.SelectRow(ft, pt, k, row, positions);
        return positions[..count];
    }

    /// <summary>Asserts the positions are whole aligned blocks (a short tail block counts whole) and returns the block indices.</summary>
    private static int[] WholeBlocks(int[] positions, int block, int n)
    {
        var set = new HashSet<int>(positions);
        Assert.Equal(positions.Length, set.Count);
        var blocks = positions.Select(p => p / block).Distinct().Order().ToArray();
        foreach (int j in blocks)
        {
            for (int i = j * block; i < Math.Min(n, (j + 1) * block); i++)
            {
                Assert.Contains(i, set);
            }
        }

        return blocks;
    }

    [Fact]
    public void Magnitude_keeps_the_blocks_of_largest_mean_change()
    {
        const int n = 64;
        var pt = Noise(n, 1);
        var ft = (float[])pt.Clone();

        // Block 2 (32..47) moves a little everywhere; block 0 has one big outlier but a smaller mean.
        for (int i = 32; i < 48; i++)
        {
            ft[i] += 0.5f;
        }

        ft[3] += 4f; // mean over block 0 = 0.25
        ft[20] += 0.1f;

        var selector = RowSelectors.Create("magnitude", 0, 16);
        Assert.Equal(Enumerable.Range(32, 16), Select(selector, ft, pt, 16, 0));

        // Two blocks: next is block 0 (mean 0.25), not block 1 (mean 0.1/16).
        int[] two = Select(selector, ft, pt, 32, 0);
        Assert.Equal([0, 2], WholeBlocks(two, 16, n));
        Assert.Equal(32, two.Length);
    }

    [Fact]
    public void Tensor_keeps_its_budget_in_whole_aligned_blocks()
    {
        // 37 rows of 384 at k = 19 (keep 0.05): rows keep 1 or 2 blocks of 16, 44 blocks in all = round(37 * 19 / 16).
        const int n = 384, rows = 37, k = 19, block = 16;
        foreach (var method in new[] { "magnitude", "random" })
        {
            var selector = RowSelectors.Create(method, 5, block);
            long total = 0;
            for (int r = 0; r < rows; r++)
            {
                int[] kept = Select(selector, Noise(n, 100 + r), Noise(n, 200 + r), k, r);
                int blocks = WholeBlocks(kept, block, n).Length;
                Assert.InRange(blocks, 1, 2);
                Assert.Equal(blocks * block, kept.Length);
                total += kept.Length;
            }

            Assert.Equal(44 * block, total);
            Assert.InRange(Math.Abs(total - (rows * k)), 0, block / 2);
        }
    }

    [Fact]
    public void Block_budget_spreads_whole_blocks_so_the_running_total_tracks_the_budget()
    {
        foreach (var (k, block) in new[] { (19, 16), (1, 16), (77, 16), (96, 16), (5, 4), (3, 8) })
        {
            long blocks = 0;
            for (long r = 0; r < 1000; r++)
            {
                int c = BlockBudget.BlocksForRow(r, k, block, int.MaxValue);
                Assert.InRange(c, k / block, (k + block - 1) / block);
                blocks += c;
                Assert.InRange(Math.Abs((blocks * block) - ((r + 1) * k)), 0, block / 2);
            }
        }

        // A multiple of the block size keeps exactly k / B blocks on every row.
        Assert.All(Enumerable.Range(0, 50), r => Assert.Equal(6, BlockBudget.BlocksForRow(r, 96, 16, 24)));
    }

    [Fact]
    public void A_short_tail_block_is_a_candidate_scored_by_its_mean_and_counts_its_own_length()
    {
        // n = 40, B = 16: blocks 0..15, 16..31 and the tail 32..39.
        const int n = 40;
        var pt = Noise(n, 3, 0.01f);
        var ft = (float[])pt.Clone();
        for (int i = 32; i < 40; i++)
        {
            ft[i] += 1f; // mean 1 over 8 elements; a sum would be 8
        }

        for (int i = 0; i < 16; i++)
        {
            ft[i] += 0.9f; // mean 0.9 over 16 elements; a sum would be 14.4, and would win
        }

        var selector = RowSelectors.Create("magnitude", 0, 16);
        Assert.Equal(Enumerable.Range(32, 8), Select(selector, ft, pt, 16, 0));
        int[] two = Select(selector, ft, pt, 32, 0);
        Assert.Equal([0, 2], WholeBlocks(two, 16, n));
        Assert.Equal(24, two.Length);

        // Random rows whose length is not a multiple of B still keep only whole blocks.
        var random = RowSelectors.Create("random", 9, 16);
        for (int r = 0; r < 50; r++)
        {
            int[] kept = Select(random, Noise(n, r), Noise(n, r + 1), 16, r);
            int[] blocks = WholeBlocks(kept, 16, n);
            Assert.Single(blocks);
            Assert.Equal(blocks[0] == 2 ? 8 : 16, kept.Length);
        }
    }

    [Fact]
    public void Random_blocks_are_deterministic_for_a_seed_and_differ_across_seeds()
    {
        const int n = 384;
        var ft = Noise(n, 1);
        var pt = Noise(n, 2);
        int[] first = Select(RowSelectors.Create("random", 7, 16), ft, pt, 96, 4);
        Assert.Equal(first, Select(RowSelectors.Create("random", 7, 16), ft, pt, 96, 4));
        Assert.Equal(6, WholeBlocks(first, 16, n).Length);
        Assert.NotEqual(first, Select(RowSelectors.Create("random", 8, 16), ft, pt, 96, 4));
        Assert.NotEqual(first, Select(RowSelectors.Create("random", 7, 16), ft, pt, 96, 5));
    }

    [Fact]
    public void Block_one_is_the_element_wise_method_itself()
    {
        Assert.IsType<MagnitudeSelector>(RowSelectors.Create("magnitude", 0, 1));
        Assert.IsType<RandomSelector>(RowSelectors.Create("random", 3, 1));
        Assert.IsType<KenSelector>(RowSelectors.Create("ken", 0, 1));
        var ft = Noise(100, 1);
        var pt = Noise(100, 2);
        Assert.Equal(Select(new RandomSelector(3), ft, pt, 17, 2), Select(RowSelectors.Create("random", 3), ft, pt, 17, 2));
    }

    [Fact]
    public void Ken_with_blocks_and_block_sizes_below_one_are_refused()
    {
        var ken = Assert.Throws<KenException>(() => RowSelectors.Create("ken", 0, 16));
        Assert.Contains("--block 16 cannot be used with --method ken", ken.Message, StringComparison.Ordinal);
        Assert.Throws<KenException>(() => RowSelectors.Create("magnitude", 0, 0));
        Assert.Throws<ArgumentException>(() => new BlockSelector(new KenSelector(), 16));
    }

    [Fact]
    public void Whole_row_budget_keeps_the_row_and_non_finite_values_are_errors()
    {
        var selector = RowSelectors.Create("magnitude", 0, 16);
        Assert.Equal(Enumerable.Range(0, 40), Select(selector, Noise(40, 1), Noise(40, 2), 40, 0));
        var bad = Noise(40, 1);
        bad[7] = float.NaN;
        var ex = Assert.Throws<NonFiniteValueException>(() => Select(selector, bad, Noise(40, 2), 16, 3));
        Assert.Equal(3, ex.RowIndex);
    }
}
