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
        Span<uint> keys = b.Keys.AsSpan(0, n);
        Span<int> order = b.Order.AsSpan(0, n);
        for (int i = 0; i < n; i++)
        {
            // A non-negative float's bits order like the float; complementing makes the largest
            // change sort first, and the stable sort keeps lower positions first among ties.
            float change = MathF.Abs(finetuned[i] - pretrained[i]);
            keys[i] = ~BitConverter.SingleToUInt32Bits(change);
            order[i] = i;
        }

        RadixSort.Sort(keys, order, b.KeysScratch, b.OrderScratch);
        order[..k].CopyTo(positions);
        return k;
    }

    private sealed class Buffers
    {
        internal uint[] Keys { get; private set; } = [];

        internal uint[] KeysScratch { get; private set; } = [];

        internal int[] Order { get; private set; } = [];

        internal int[] OrderScratch { get; private set; } = [];

        internal void Ensure(int n)
        {
            if (Keys.Length < n)
            {
                int size = Math.Max(n, Keys.Length * 2);
                Keys = new uint[size];
                KeysScratch = new uint[size];
                Order = new int[size];
                OrderScratch = new int[size];
            }
        }
    }
}
