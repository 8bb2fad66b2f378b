namespace Ken.Pruning.Selection;

/// <summary>
/// Selects a row in aligned blocks of <see cref="Block"/> consecutive elements (block <c>j</c> is
/// positions <c>j·B … j·B + B − 1</c>), kept or reset together. Each block is scored by the mean
/// <c>|finetuned − pretrained|</c> of its elements, and the inner element-wise method chooses among
/// the blocks as if each were one element: <c>magnitude</c> keeps the blocks of largest mean change
/// (ties to the lower block), <c>random</c> draws blocks with the row's seeded generator (it ignores
/// the scores). How many blocks a row keeps is <see cref="BlockBudget"/>'s rule. A row whose length is
/// not a multiple of B ends in a short block of <c>n mod B</c> elements, a candidate like the others;
/// the mean (rather than the sum) lets it compete on the same per-element footing, and when kept it
/// counts its own length, so such a row can keep fewer than <c>blocks · B</c> elements.
/// </summary>
public sealed class BlockSelector : IRowSelector
{
    [ThreadStatic]
    private static Buffers? buffers;

    private readonly IRowSelector _inner;

    /// <param name="inner">The element-wise method applied to block scores: magnitude or random.</param>
    /// <param name="block">Elements per block, at least 2 (1 is the inner method itself).</param>
    public BlockSelector(IRowSelector inner, int block)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfLessThan(block, 2);
        if (inner is KenSelector or BlockSelector)
        {
            throw new ArgumentException($"the {inner.Method} method cannot select in blocks", nameof(inner));
        }

        _inner = inner;
        Block = block;
    }

    /// <summary>The element-wise method that chooses among the blocks.</summary>
    public IRowSelector Inner => _inner;

    /// <summary>Elements per block.</summary>
    public int Block { get; }

    /// <inheritdoc />
    public string Method => _inner.Method;

    /// <summary>
    /// Writes the kept positions of the row (whole blocks, ascending) and returns how many: not
    /// <paramref name="k"/> itself but <see cref="BlockBudget"/>'s share for row <paramref name="rowIndex"/>,
    /// which over a tensor adds up to its budget rounded to whole blocks. <paramref name="positions"/>
    /// must hold the row's length.
    /// </summary>
    public int SelectRow(ReadOnlySpan<float> finetuned, ReadOnlySpan<float> pretrained, int k, long rowIndex, Span<int> positions)
    {
        int n = finetuned.Length;
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        if (pretrained.Length != n)
        {
            throw new ArgumentException($"pretrained has {pretrained.Length} values but finetuned has {n}", nameof(pretrained));
        }

        NonFiniteValueException.ThrowIfAnyNonFinite(finetuned, rowIndex);
        NonFiniteValueException.ThrowIfAnyNonFinite(pretrained, rowIndex);
        if (k >= n)
        {
            for (int i = 0; i < n; i++)
            {
                positions[i] = i;
            }

            return n;
        }

        int blocks = (n + Block - 1) / Block;
        int keptBlocks = BlockBudget.BlocksForRow(rowIndex, k, Block, blocks);
        if (keptBlocks == 0)
        {
            return 0;
        }

        Buffers b = buffers ??= new Buffers();
        b.Ensure(blocks);
        Span<float> scores = b.Scores.AsSpan(0, blocks);
        for (int j = 0; j < blocks; j++)
        {
            int start = j * Block;
            int end = Math.Min(n, start + Block);
            double sum = 0;
            for (int i = start; i < end; i++)
            {
                sum += MathF.Abs(finetuned[i] - pretrained[i]);
            }

            scores[j] = (float)Math.Min(sum / (end - start), float.MaxValue);
        }

        Span<int> chosen = b.Chosen.AsSpan(0, keptBlocks);
        int count = _inner.SelectRow(scores, b.Zeros.AsSpan(0, blocks), keptBlocks, rowIndex, chosen);
        chosen = chosen[..count];
        chosen.Sort();
        int written = 0;
        foreach (int j in chosen)
        {
            int end = Math.Min(n, (j + 1) * Block);
            for (int i = j * Block; i < end; i++)
            {
                positions[written++] = i;
            }
        }

        return written;
    }

    private sealed class Buffers
    {
        internal float[] Scores { get; private set; } = [];

        internal float[] Zeros { get; private set; } = [];

        internal int[] Chosen { get; private set; } = [];

        internal void Ensure(int blocks)
        {
            if (Scores.Length < blocks)
            {
                int size = Math.Max(blocks, Scores.Length * 2);
                Scores = new float[size];
                Zeros = new float[size];
                Chosen = new int[size];
            }
        }
    }
}
