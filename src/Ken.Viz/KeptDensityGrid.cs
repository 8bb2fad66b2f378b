namespace Ken.Viz;

/// <summary>
/// A mask downsampled to at most <c>maxCells</c> cells per side: each cell is the fraction of kept
/// positions in its block of <see cref="BlockRows"/> x <see cref="BlockColumns"/> elements (edge
/// blocks may be smaller and are averaged over what they hold).
/// </summary>
public sealed class KeptDensityGrid
{
    private KeptDensityGrid(double[,] density, int blockRows, int blockColumns)
    {
        Density = density;
        BlockRows = blockRows;
        BlockColumns = blockColumns;
    }

    /// <summary>Kept fraction per cell, indexed [cell row, cell column], each in [0, 1].</summary>
    public double[,] Density { get; }

    public int BlockRows { get; }

    public int BlockColumns { get; }

    public int CellRows => Density.GetLength(0);

    public int CellColumns => Density.GetLength(1);

    /// <summary>Downsamples <paramref name="matrix"/>; a matrix within the limit maps one element to one cell (0 or 1).</summary>
    public static KeptDensityGrid Compute(MaskMatrix matrix, int maxCells)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCells, 1);
        int blockRows = Math.Max(1, (matrix.Rows + maxCells - 1) / maxCells);
        int blockColumns = Math.Max(1, (matrix.Columns + maxCells - 1) / maxCells);
        int cellRows = (matrix.Rows + blockRows - 1) / blockRows;
        int cellColumns = (matrix.Columns + blockColumns - 1) / blockColumns;
        var kept = new long[cellRows, cellColumns];
        var total = new long[cellRows, cellColumns];
        for (int r = 0; r < matrix.Rows; r++)
        {
            int cr = r / blockRows;
            for (int c = 0; c < matrix.Columns; c++)
            {
                int cc = c / blockColumns;
                total[cr, cc]++;
                if (matrix.IsKept(r, c))
                {
                    kept[cr, cc]++;
                }
            }
        }

        var density = new double[cellRows, cellColumns];
        for (int r = 0; r < cellRows; r++)
        {
            for (int c = 0; c < cellColumns; c++)
            {
                density[r, c] = total[r, c] == 0 ? 0 : (double)kept[r, c] / total[r, c];
            }
        }

        return new KeptDensityGrid(density, blockRows, blockColumns);
    }
}
