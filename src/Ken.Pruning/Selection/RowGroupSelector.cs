namespace Ken.Pruning.Selection;

/// <summary>
/// Selects the same positions in every row of an aligned group of B consecutive rows: the block form of a
/// tensor stored transposed, where the B rows' elements at one position are B neighbours in memory (one
/// 64-byte line for B = 16 of float32). Each position is scored by the mean <c>|finetuned − pretrained|</c>
/// of the group's rows there, and the inner element-wise method picks <c>k</c> of them as if the scores were
/// one row: <c>magnitude</c> the largest (ties to the lower position), <c>random</c> with the generator of
/// the group's index. So every row still keeps exactly <c>k</c>, the budget is exact, and a group of B rows
/// keeps <c>k</c> whole blocks of B.
/// </summary>
public sealed class RowGroupSelector
{
    [ThreadStatic]
    private static Buffers? buffers;

    private readonly IRowSelector _inner;

    /// <param name="inner">The element-wise method applied to the position scores: magnitude or random.</param>
    public RowGroupSelector(IRowSelector inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (inner is KenSelector or BlockSelector)
        {
            throw new ArgumentException($"the {inner.Method} method cannot select in row groups", nameof(inner));
        }

        _inner = inner;
    }

    /// <summary>
    /// Writes the <c>min(k, n)</c> positions (ascending) that every row of the group keeps and returns how
    /// many; <paramref name="finetuned"/> and <paramref name="pretrained"/> hold the group's rows of
    /// <paramref name="n"/> elements back to back, from row <paramref name="firstRow"/> of the tensor (for
    /// error messages), and <paramref name="positions"/> must hold n.
    /// </summary>
    public int SelectGroup(ReadOnlySpan<float> finetuned, ReadOnlySpan<float> pretrained, int n, int k, long groupIndex, long firstRow, Span<int> positions)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        if (finetuned.Length % n != 0 || finetuned.Length == 0 || pretrained.Length != finetuned.Length)
        {
            throw new ArgumentException($"a group holds whole rows of {n} in both checkpoints; got {finetuned.Length} and {pretrained.Length} values", nameof(finetuned));
        }

        int rows = finetuned.Length / n;
        for (int r = 0; r < rows; r++)
        {
            NonFiniteValueException.ThrowIfAnyNonFinite(finetuned.Slice(r * n, n), firstRow + r);
            NonFiniteValueException.ThrowIfAnyNonFinite(pretrained.Slice(r * n, n), firstRow + r);
        }

        if (k >= n)
        {
            for (int i = 0; i < n; i++)
            {
                positions[i] = i;
            }

            return n;
        }

        Buffers b = buffers ??= new Buffers();
        b.Ensure(n);
        Span<double> sums = b.Sums.AsSpan(0, n);
        sums.Clear();
        for (int r = 0; r < rows; r++)
        {
            var ft = finetuned.Slice(r * n, n);
            var pre = pretrained.Slice(r * n, n);
            for (int i = 0; i < n; i++)
            {
                sums[i] += MathF.Abs(ft[i] - pre[i]);
            }
        }

        Span<float> scores = b.Scores.AsSpan(0, n);
        for (int i = 0; i < n; i++)
        {
            scores[i] = (float)Math.Min(sums[i] / rows, float.MaxValue);
        }

        int count = _inner.SelectRow(scores, b.Zeros.AsSpan(0, n), k, groupIndex, positions);
        positions[..count].Sort();
        return count;
    }

    private sealed class Buffers
    {
        internal double[] Sums { get; private set; } = [];

        internal float[] Scores { get; private set; } = [];

        internal float[] Zeros { get; private set; } = [];

        internal void Ensure(int n)
        {
            if (Scores.Length < n)
            {
                Sums = new double[n];
                Scores = new float[n];
                Zeros = new float[n];
            }
        }
    }
}
