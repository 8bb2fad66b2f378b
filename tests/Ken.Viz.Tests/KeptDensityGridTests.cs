using Ken.Viz;

namespace Ken.Viz.Tests;

public class KeptDensityGridTests
{
    [Fact]
    public void A_small_matrix_maps_one_element_to_one_cell()
    {
        var grid = KeptDensityGrid.Compute(MaskMatrix.From(VizDeltas.Tensor("m", "#.", ".#", "##")), maxCells: 8);

        Assert.Equal((1, 1), (grid.BlockRows, grid.BlockColumns));
        Assert.Equal(new double[,] { { 1, 0 }, { 0, 1 }, { 1, 1 } }, grid.Density);
    }

    [Fact]
    public void A_large_matrix_averages_blocks_and_edge_blocks_over_what_they_hold()
    {
        // 5x4 at 2 cells per side: blocks of 3 rows x 2 columns; the last row block holds 2 rows.
        var matrix = MaskMatrix.From(VizDeltas.Tensor(
            "m",
            "##..",
            "#...",
            "#..#",
            "####",
            "#..."));

        var grid = KeptDensityGrid.Compute(matrix, maxCells: 2);

        Assert.Equal((3, 2), (grid.BlockRows, grid.BlockColumns));
        Assert.Equal(2, grid.CellRows);
        Assert.Equal(2, grid.CellColumns);
        Assert.Equal(4 / 6.0, grid.Density[0, 0], 12);
        Assert.Equal(1 / 6.0, grid.Density[0, 1], 12);
        Assert.Equal(3 / 4.0, grid.Density[1, 0], 12);
        Assert.Equal(2 / 4.0, grid.Density[1, 1], 12);
    }
}
