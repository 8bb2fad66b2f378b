using Ken.Pruning.Selection;

namespace Ken.Pruning.Tests.Selection;

public class MagnitudeSelectorTests
{
    private readonly MagnitudeSelector selector = new();

    [Fact]
    public void Keeps_the_largest_changes_in_either_direction()
    {
        float[] pretrained = [0, 0, 0, 0, 0, 0];
        float[] finetuned = [0.1f, -0.5f, 0.2f, 0.05f, 0.4f, -0.3f];
        Assert.Equal([1, 4, 5], Select(finetuned, pretrained, 3));
    }

    [Fact]
    public void Equal_changes_go_to_the_lower_position()
    {
        float[] pretrained = [1, 1, 1, 1, 1, 1, 1];
        float[] finetuned = [1.5f, 0.5f, 1.25f, 1.5f, 0.5f, 1, 1.25f];
        Assert.Equal([0, 1, 3], Select(finetuned, pretrained, 3));
        Assert.Equal([0, 1, 2, 3, 4], Select(finetuned, pretrained, 5));
    }

    [Fact]
    public void Unchanged_row_keeps_the_first_k_positions()
    {
        float[] row = [3, -1, 2, 0, 5];
        Assert.Equal([0, 1], Select(row, row, 2));
    }

    [Fact]
    public void Matches_a_full_sort_on_random_rows()
    {
        var rng = new Random(3);
        for (int trial = 0; trial < 50; trial++)
        {
            int n = rng.Next(1, 3100);
            var pretrained = new float[n];
            var finetuned = new float[n];
            for (int i = 0; i < n; i++)
            {
                pretrained[i] = (float)(rng.NextDouble() - 0.5);
                finetuned[i] = pretrained[i] + (float)(Math.Round((rng.NextDouble() - 0.5) * 64) / 1024);
            }

            int k = rng.Next(1, n + 1);
            int[] expected = [.. Enumerable.Range(0, n)
                .OrderByDescending(i => MathF.Abs(finetuned[i] - pretrained[i]))
                .ThenBy(i => i)
                .Take(k)
                .Order()];
            Assert.Equal(expected, Select(finetuned, pretrained, k));
        }
    }

    [Fact]
    public void Budget_rules_match_the_other_methods()
    {
        float[] row = [1, 2, 3];
        Assert.Equal([0, 1, 2], Select(row, [0, 0, 0], 7));
        Assert.Throws<ArgumentOutOfRangeException>(() => Select(row, row, 0));
        Assert.Throws<NonFiniteValueException>(() => Select(row, [0, float.NaN, 0], 1));
    }

    private int[] Select(float[] finetuned, float[] pretrained, int k)
    {
        var positions = new int[Math.Min(k, finetuned.Length)];
        int count = selector.SelectRow(finetuned, pretrained, k, 0, positions);
        Assert.Equal(positions.Length, count);
        return [.. positions.Order()];
    }
}
