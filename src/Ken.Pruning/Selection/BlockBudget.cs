namespace Ken.Pruning.Selection;

/// <summary>
/// How many aligned blocks of <c>B</c> elements each row keeps when a per-row element budget
/// <c>k</c> is selected in blocks. Row <c>r</c> keeps <c>C(r + 1) − C(r)</c> blocks, where
/// <c>C(r) = round(r · k / B)</c> (half up): every row keeps ⌊k/B⌋ or ⌈k/B⌉ blocks, and the first
/// <c>r</c> rows together keep <c>B · C(r)</c> elements, within <c>B/2</c> of <c>r · k</c>. So a tensor
/// whose row length is a multiple of <c>B</c> keeps its budget to within half a block overall,
/// instead of drifting by up to half a block on every row as per-row rounding would.
/// </summary>
public static class BlockBudget
{
    /// <summary>The number of blocks row <paramref name="rowIndex"/> keeps (0 … <paramref name="blocksInRow"/>).</summary>
    /// <param name="rowIndex">The row's index within its tensor.</param>
    /// <param name="k">The per-row element budget (at least 1).</param>
    /// <param name="block">Elements per block (at least 1).</param>
    /// <param name="blocksInRow">Blocks in the row, the last possibly short: <c>ceil(n / B)</c>.</param>
    public static int BlocksForRow(long rowIndex, int k, int block, int blocksInRow)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rowIndex);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(block, 1);
        long count = Cumulative(rowIndex + 1, k, block) - Cumulative(rowIndex, k, block);
        return (int)Math.Min(count, blocksInRow);
    }

    // round(rows · k / B), half up, in exact integer arithmetic.
    private static long Cumulative(long rows, int k, int block) => ((2 * rows * k) + block) / (2L * block);
}
