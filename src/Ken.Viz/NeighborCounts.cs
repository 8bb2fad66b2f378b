namespace Ken.Viz;

/// <summary>
/// For each kept position, how many of its 4 neighbours (up, down, left, right, within the matrix)
/// are kept too: whether a selection keeps scattered positions or clusters of them.
/// </summary>
public static class NeighborCounts
{
    /// <summary>The value <see cref="Compute"/> gives a reset position.</summary>
    public const sbyte Reset = -1;

    /// <summary>Per element, row-major: <see cref="Reset"/> for a reset position, else 0-4 kept neighbours.</summary>
    public static sbyte[] Compute(MaskMatrix matrix)
    {
        var counts = new sbyte[matrix.ElementCount];
        for (int r = 0; r < matrix.Rows; r++)
        {
            for (int c = 0; c < matrix.Columns; c++)
            {
                long i = ((long)r * matrix.Columns) + c;
                if (!matrix.IsKept(r, c))
                {
                    counts[i] = Reset;
                    continue;
                }

                sbyte n = 0;
                if (r > 0 && matrix.IsKept(r - 1, c))
                {
                    n++;
                }

                if (r + 1 < matrix.Rows && matrix.IsKept(r + 1, c))
                {
                    n++;
                }

                if (c > 0 && matrix.IsKept(r, c - 1))
                {
                    n++;
                }

                if (c + 1 < matrix.Columns && matrix.IsKept(r, c + 1))
                {
                    n++;
                }

                counts[i] = n;
            }
        }

        return counts;
    }

    /// <summary>How many kept positions have 0, 1, 2, 3 and 4 kept neighbours (index = count).</summary>
    public static long[] Histogram(ReadOnlySpan<sbyte> counts)
    {
        var histogram = new long[5];
        foreach (sbyte n in counts)
        {
            if (n >= 0)
            {
                histogram[n]++;
            }
        }

        return histogram;
    }

    /// <summary>
    /// The histogram expected if each position were kept independently with probability
    /// <paramref name="keptFraction"/> (binomial over 4 neighbours, ignoring the matrix edge):
    /// the baseline that shows whether a selection clusters.
    /// </summary>
    public static double[] ExpectedIfIndependent(long keptCount, double keptFraction)
    {
        var expected = new double[5];
        double p = keptFraction;
        for (int n = 0; n <= 4; n++)
        {
            expected[n] = keptCount * Binomial4(n) * Math.Pow(p, n) * Math.Pow(1 - p, 4 - n);
        }

        return expected;
    }

    private static int Binomial4(int n) => n switch
    {
        0 or 4 => 1,
        1 or 3 => 4,
        _ => 6,
    };
}
