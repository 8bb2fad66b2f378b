using Ken.Pruning.Selection;

namespace Ken.Pruning.Tests.Selection;

public sealed class RowGroupSelectorTests
{
    [Fact]
    public void Magnitude_keeps_the_positions_of_largest_mean_change_over_the_group_not_of_any_one_row()
    {
        // Two rows of 4. Row 0 alone would keep position 0 (change 1.0); over both rows position 2 changes
        // most on average (0.6 and 0.6), then position 0 (1.0 and 0), then 3 (0.3, 0.3), then 1.
        float[] pretrained = [0, 0, 0, 0, 0, 0, 0, 0];
        float[] finetuned = [1.0f, 0.1f, 0.6f, -0.3f, 0, -0.1f, -0.6f, 0.3f];
        var selector = new RowGroupSelector(new MagnitudeSelector());
        var positions = new int[4];

        Assert.Equal(2, selector.SelectGroup(finetuned, pretrained, n: 4, k: 2, groupIndex: 0, firstRow: 0, positions));
        Assert.Equal([0, 2], positions[..2]);
        Assert.Equal(1, selector.SelectGroup(finetuned, pretrained, n: 4, k: 1, groupIndex: 0, firstRow: 0, positions));
        Assert.Equal(2, positions[0]);
    }

    [Fact]
    public void Random_draws_the_same_positions_for_the_same_group_and_seed_and_others_for_another_group()
    {
        var finetuned = new float[16 * 64];
        var pretrained = new float[16 * 64];
        var a = new RowGroupSelector(new RandomSelector(7));
        var b = new RowGroupSelector(new RandomSelector(7));
        var first = new int[64];
        var again = new int[64];
        var other = new int[64];

        Assert.Equal(8, a.SelectGroup(finetuned, pretrained, 64, 8, groupIndex: 3, firstRow: 48, first));
        Assert.Equal(8, b.SelectGroup(finetuned, pretrained, 64, 8, groupIndex: 3, firstRow: 48, again));
        Assert.Equal(8, b.SelectGroup(finetuned, pretrained, 64, 8, groupIndex: 4, firstRow: 64, other));
        Assert.Equal(first[..8], again[..8]);
        Assert.NotEqual(first[..8], other[..8]);
        Assert.Equal(first[..8].Order(), first[..8]);
        Assert.Equal(8, first[..8].Distinct().Count());
    }

    [Fact]
    public void A_budget_of_the_whole_row_keeps_every_position_and_bad_input_is_refused()
    {
        var selector = new RowGroupSelector(new MagnitudeSelector());
        var positions = new int[4];
        Assert.Equal(4, selector.SelectGroup(new float[8], new float[8], 4, 9, 0, 0, positions));
        Assert.Equal([0, 1, 2, 3], positions);
        Assert.Throws<ArgumentException>(() => selector.SelectGroup(new float[7], new float[7], 4, 1, 0, 0, positions));
        Assert.Throws<ArgumentException>(() => selector.SelectGroup(new float[8], new float[4], 4, 1, 0, 0, positions));
        Assert.Throws<ArgumentException>(() => new RowGroupSelector(new KenSelector()));
        var nan = new float[8];
        nan[5] = float.NaN;
        Assert.ThrowsAny<Exception>(() => selector.SelectGroup(nan, new float[8], 4, 1, 0, 0, positions));
    }
}
