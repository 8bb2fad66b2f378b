namespace Ken.Pruning.Selection;

/// <summary>
/// A seeded control: k positions uniformly at random without replacement. Each row draws from its
/// own generator derived from (seed, rowIndex), so results do not depend on thread scheduling, and
/// the generator is written here so they do not depend on the runtime version either.
/// </summary>
public sealed class RandomSelector(ulong seed) : IRowSelector
{
    [ThreadStatic]
    private static int[]? pool;

    /// <summary>The seed every row's generator derives from.</summary>
    public ulong Seed { get; } = seed;

    /// <inheritdoc />
    public string Method => "random";

    /// <inheritdoc />
    public int SelectRow(ReadOnlySpan<float> finetuned, ReadOnlySpan<float> pretrained, int k, long rowIndex, Span<int> positions)
    {
        int n = finetuned.Length;
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        NonFiniteValueException.ThrowIfAnyNonFinite(finetuned, rowIndex);
        if (k >= n)
        {
            for (int i = 0; i < n; i++)
            {
                positions[i] = i;
            }

            return n;
        }

        if (pool is null || pool.Length < n)
        {
            pool = new int[Math.Max(n, (pool?.Length ?? 0) * 2)];
        }

        Span<int> items = pool.AsSpan(0, n);
        for (int i = 0; i < n; i++)
        {
            items[i] = i;
        }

        // Two SplitMix64 finalisations decorrelate neighbouring rows and neighbouring seeds.
        ulong state = Mix(Seed ^ Mix((ulong)rowIndex + 0x9E37_79B9_7F4A_7C15UL));

        // Partial Fisher-Yates: after step i, items[0..i] is a uniform sample without replacement.
        for (int i = 0; i < k; i++)
        {
            int j = i + (int)Below(ref state, (uint)(n - i));
            (items[i], items[j]) = (items[j], items[i]);
        }

        items[..k].CopyTo(positions);
        return k;
    }

    private static ulong Next(ref ulong state)
    {
        state += 0x9E37_79B9_7F4A_7C15UL;
        return Mix(state);
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, bound) without modulo bias (Lemire's multiply-and-reject).</summary>
    private static uint Below(ref ulong state, uint bound)
    {
        while (true)
        {
            ulong product = (Next(ref state) >> 32) * bound;
            uint low = (uint)product;
            if (low >= bound || low >= (0u - bound) % bound)
            {
                return (uint)(product >> 32);
            }
        }
    }
}
