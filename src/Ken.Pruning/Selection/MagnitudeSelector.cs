namespace Ken.Pruning.Selection;

/// <summary>
/// Keeps the k positions whose fine-tuning changed them most: largest |finetuned - pretrained|,
/// ties to the lower position. The change is the float32 difference (what a float32 delta would
/// store), so equal stored deltas tie rather than being split by float64 digits nobody keeps.
/// </summary>
public sealed class MagnitudeSelector : IRowSelector
{
    [ThreadStatic]
    private static Buffers? buffers;

    /// <inheritdoc />
    public string Method => "magnitude";

    /// <inheritdoc />
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

        Buffers b = buffers ??= new Buffers();
        b.Ensure(n);
        Span<ulong> items = b.Items.AsSpan(0, n);
        for (int i = 0; i < n; i++)
        {
            // A non-negative float's bits order like the float; complementing makes the largest
            // change sort first, and the stable sort keeps lower positions first among ties.
            float change = MathF.Abs(finetuned[i] - pretrained[i]);
            items[i] = ((ulong)~BitConverter.SingleToUInt32Bits(change) << 32) | (uint)i;
        }

        RadixSort.SortByUpperHalf(items, b.ItemsScratch);
        for (int i = 0; i < k; i++)
        {
            positions[i] = (int)(uint)items[i];
        }

        return k;
    }

    private sealed class Buffers
    {
        internal ulong[] Items { get; private set; } = [];

        internal ulong[] ItemsScratch { get; private set; } = [];

        internal void Ensure(int n)
        {
            if (Items.Length < n)
            {
                int size = Math.Max(n, Items.Length * 2);
                Items = new ulong[size];
                ItemsScratch = new ulong[size];
            }
        }
    }
}
