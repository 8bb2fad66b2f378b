namespace Ken.Cli.Bench;

/// <summary>
/// The open loop's arrival schedule: a Poisson process at <c>rate</c> per second from its own
/// seeded generator, so the schedule depends only on seed and rate, never on how fast replies come
/// back (the task and text choices draw from another generator, at send time).
/// </summary>
internal sealed class PoissonArrivals
{
    private readonly double rate;
    private readonly Random random;
    private double at;

    public PoissonArrivals(double rate, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rate);
        this.rate = rate;
        random = new Random(seed);
    }

    /// <summary>Seconds from the start of the schedule to the next arrival.</summary>
    public double Next()
    {
        // Exponential gaps make the arrivals a Poisson process.
        at += -Math.Log(1 - random.NextDouble()) / rate;
        return at;
    }

    /// <summary>How many arrivals of the schedule fall in [<paramref name="from"/>, <paramref name="to"/>) seconds.</summary>
    public static long CountBetween(double rate, int seed, double from, double to)
    {
        var arrivals = new PoissonArrivals(rate, seed);
        long count = 0;
        for (double t = arrivals.Next(); t < to; t = arrivals.Next())
        {
            if (t >= from)
            {
                count++;
            }
        }

        return count;
    }
}
