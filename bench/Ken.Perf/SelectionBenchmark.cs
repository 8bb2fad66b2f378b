using System.Diagnostics;
using System.Globalization;
using Ken.Pruning.Selection;

namespace Ken.Perf;

/// <summary>
/// Single-threaded ns/element of the row selectors on seeded, weight-like rows. Variants run
/// interleaved within each repetition and the best repetition counts, because other processes
/// share the machine and only the minimum is stable.
/// </summary>
internal static class SelectionBenchmark
{
    private const int ElementsPerMeasurement = 1 << 20;

    public static int Run(string[] args)
    {
        int reps = args.Length >= 2 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 7;
        var variants = new List<(string Name, IRowSelector Selector)>
        {
            ("ken", new KenSelector()),
            ("magnitude", new MagnitudeSelector()),
            ("random", new RandomSelector(1)),
        };

        Console.WriteLine($"best of {reps}, single thread, ns/element (Vector<double> lanes {System.Numerics.Vector<double>.Count}, Vector512 accelerated {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated})");
        Console.WriteLine();
        Console.WriteLine("| n | k | " + string.Join(" | ", variants.Select(v => v.Name)) + " |");
        Console.WriteLine("|---|---|" + string.Concat(variants.Select(_ => "---:|")));
        foreach (int n in new[] { 384, 768, 3072 })
        {
            float[][] rows = Rows(n, Math.Max(4, ElementsPerMeasurement / n), seed: n);
            foreach ((string label, int k) in new[] { ("n/4", n / 4), ("n/2", n / 2), ("3n/4", 3 * n / 4) })
            {
                var best = new double[variants.Count];
                Array.Fill(best, double.PositiveInfinity);
                for (int r = 0; r < reps; r++)
                {
                    for (int v = 0; v < variants.Count; v++)
                    {
                        best[v] = Math.Min(best[v], Time(variants[v].Selector, rows, k));
                    }
                }

                double elements = (double)rows.Length * n;
                Console.WriteLine($"| {n} | {label} | " + string.Join(" | ", best.Select(t => (t / elements).ToString("F1", CultureInfo.InvariantCulture))) + " |");
            }
        }

        return 0;
    }

    /// <summary>
    /// Runs the KEN selector in a steady loop,
    /// for profilers and for `perf stat -e cycles:u`, which a loaded machine does not skew.
    /// </summary>
    public static int Profile(string[] args)
    {
        int n = int.Parse(args[1], CultureInfo.InvariantCulture);
        double keep = double.Parse(args[2], CultureInfo.InvariantCulture);
        int rowCount = args.Length >= 4 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 64;
        float[][] rows = Rows(n, rowCount, seed: n);
        IRowSelector selector = new KenSelector();
        double ns = double.PositiveInfinity;
        for (int r = 0; r < 20; r++)
        {
            ns = Math.Min(ns, Time(selector, rows, (int)(keep * n)));
        }

        Console.WriteLine((ns / ((double)rows.Length * n)).ToString("F1", CultureInfo.InvariantCulture) + " ns/element");
        return 0;
    }

    /// <summary>Normal weights (std 0.04, like a trained transformer's) plus a few outliers per row.</summary>
    internal static float[][] Rows(int n, int count, int seed)
    {
        var rng = new Random(seed);
        var rows = new float[count][];
        for (int r = 0; r < count; r++)
        {
            var row = new float[n];
            for (int i = 0; i < n; i++)
            {
                row[i] = (float)(Normal(rng) * 0.04);
            }

            int outliers = rng.Next(0, 4);
            for (int o = 0; o < outliers; o++)
            {
                row[rng.Next(n)] = (float)((rng.Next(2) == 0 ? -1 : 1) * (0.2 + (rng.NextDouble() * 0.6)));
            }

            rows[r] = row;
        }

        return rows;
    }

    private static double Normal(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    private static double Time(IRowSelector selector, float[][] rows, int k)
    {
        var positions = new int[rows[0].Length];
        long start = Stopwatch.GetTimestamp();
        for (int r = 0; r < rows.Length; r++)
        {
            selector.SelectRow(rows[r], rows[r], k, r, positions);
        }

        return Stopwatch.GetElapsedTime(start).TotalNanoseconds;
    }
}
