using Ken.Viz;

namespace Ken.Viz.Tests;

public class NeighborCountsTests
{
    [Fact]
    public void Counts_kept_neighbours_of_each_kept_position_and_marks_reset_ones()
    {
        var matrix = MaskMatrix.From(VizDeltas.Tensor(
            "m",
            "##.#",
            "#...",
            "###."));

        var counts = NeighborCounts.Compute(matrix);

        sbyte x = NeighborCounts.Reset;
        sbyte[] expected =
        [
            2, 1, x, 0,
            2, x, x, x,
            2, 2, 1, x,
        ];
        Assert.Equal(expected, counts);
        Assert.Equal([1L, 2, 4, 0, 0], NeighborCounts.Histogram(counts));
    }

    [Fact]
    public void A_fully_kept_interior_position_has_four_neighbours()
    {
        var counts = NeighborCounts.Compute(MaskMatrix.From(VizDeltas.Tensor("m", "###", "###", "###")));

        Assert.Equal(4, counts[4]);
        Assert.Equal([0L, 0, 4, 4, 1], NeighborCounts.Histogram(counts));
    }

    [Fact]
    public void A_one_dimensional_tensor_is_one_row_with_left_and_right_neighbours_only()
    {
        var counts = NeighborCounts.Compute(MaskMatrix.From(VizDeltas.Tensor("bias", "##.#")));

        Assert.Equal([1, 1, NeighborCounts.Reset, 0], counts);
    }

    [Fact]
    public void Expected_histogram_of_independent_choice_is_binomial_and_sums_to_the_kept_count()
    {
        var expected = NeighborCounts.ExpectedIfIndependent(1000, 0.5);

        Assert.Equal([62.5, 250, 375, 250, 62.5], expected);
        Assert.Equal(1000, expected.Sum(), 9);
    }
}
