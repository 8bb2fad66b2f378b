namespace Ken.Cli.Bench;

/// <summary>Draws ranks 0..n-1 with probability proportional to 1/(rank+1)^s; s = 0 is uniform.</summary>
internal sealed class ZipfSampler
{
    private readonly double[] cumulative;

    public ZipfSampler(int count, double exponent)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        cumulative = new double[count];
        double sum = 0;
        for (int i = 0; i < count; i++)
        {
            sum += 1.0 / Math.Pow(i + 1, exponent);
            cumulative[i] = sum;
        }
    }

    public int Count => cumulative.Length;

    /// <summary>Probability of rank <paramref name="rank"/>.</summary>
    public double Probability(int rank) => (cumulative[rank] - (rank == 0 ? 0 : cumulative[rank - 1])) / cumulative[^1];

    public int Next(Random random)
    {
        double u = random.NextDouble() * cumulative[^1];
        int index = Array.BinarySearch(cumulative, u);
        index = index < 0 ? ~index : index;
        return Math.Min(index, cumulative.Length - 1);
    }
}
