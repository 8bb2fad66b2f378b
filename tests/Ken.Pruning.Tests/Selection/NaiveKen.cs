namespace Ken.Pruning.Tests.Selection;

/// <summary>
/// DESIGN.md's KEN rule written as plainly as possible (O(n·k) everything), the oracle for the fast
/// selector.
/// </summary>
internal static class NaiveKen
{
    internal static int[] Select(float[] x, int k)
    {
        int n = x.Length;
        if (k >= n)
        {
            return Enumerable.Range(0, n).ToArray();
        }

        if (x.All(v => v == x[0]))
        {
            return Enumerable.Range(0, k).ToArray();
        }

        double mean = 0;
        foreach (float v in x)
        {
            mean += v;
        }

        mean /= n;
        double variance = 0;
        foreach (float v in x)
        {
            variance += (v - mean) * (v - mean);
        }

        double h = 1.06 * Math.Sqrt(variance / n) * Math.Pow(n, -0.2);
        double min = x.Min();
        double max = x.Max();
        var grid = new double[k];
        double step = k > 1 ? (max - min) / (k - 1) : 0;
        for (int j = 0; j < k; j++)
        {
            grid[j] = (j * step) + min;
        }

        grid[k - 1] = k > 1 ? max : min;

        var rounded = new double[k];
        for (int j = 0; j < k; j++)
        {
            double sum = 0;
            for (int i = 0; i < n; i++)
            {
                double d = grid[j] - x[i];
                sum += Math.Exp(-(d * d) / (2 * h * h));
            }

            rounded[j] = Math.Round(sum / (n * h * Math.Sqrt(2 * Math.PI)));
        }

        // OrderBy is stable: equal densities stay in grid order.
        int[] visit = Enumerable.Range(0, k).OrderByDescending(j => rounded[j]).ToArray();
        var taken = new bool[n];
        var result = new int[k];
        for (int v = 0; v < k; v++)
        {
            float g = (float)grid[visit[v]];
            int best = -1;
            float bestDistance = float.PositiveInfinity;
            for (int i = 0; i < n; i++)
            {
                float d = MathF.Abs(x[i] - g);
                if (!taken[i] && (best < 0 || d < bestDistance))
                {
                    best = i;
                    bestDistance = d;
                }
            }

            taken[best] = true;
            result[v] = best;
        }

        return result;
    }
}
