using System.Numerics;

namespace Ken.Pruning.Selection;

/// <summary>
/// Gaussian kernel density of a row on a uniform grid, rounded half-to-even exactly as a direct
/// float64 sum would round it, in O(n·p + k·w) instead of O(n·k).
/// </summary>
/// <remarks>
/// Sources are grouped into boxes of width 2h; each box's sum is a Taylor expansion around its
/// centre c: Σ exp(-(t-s)²/2) = exp(-t²/2) Σ_m A_m t^m with t = (g-c)/h, s = (x-c)/h and
/// A_m = Σ exp(-s²/2) s^m / m!. With |s| ≤ ρ, dropping the terms above <see cref="Order"/> errs by at
/// most max_u exp(-(u-ρ)²/2) (uρ)^(p+1)/(p+1)! per source, and skipping targets farther than
/// <see cref="Window"/>·h from c errs by at most exp(-(Window-ρ)²/2) per source. Those bounds plus a
/// generous float64 rounding allowance give a tolerance; a grid point whose approximate density is
/// within it of a .5 boundary is recomputed by the direct sum, so the rounded result is exact.
/// </remarks>
internal static class GridDensity
{
    /// <summary>Highest Taylor power kept.</summary>
    /// <remarks>
    /// Order 17 with a 6.5h window bounds the error by about 5e-7 of a kernel peak per source: a
    /// grid point then needs the direct recheck a few times per thousand rows, while every term
    /// saved is paid by every grid point in every box.
    /// </remarks>
    private const int Order = 17;

    /// <summary>Box width in units of h.</summary>
    private const double BoxWidth = 2;

    /// <summary>Bound on |x - c| / h inside a box (half its width; the slack covers rounding).</summary>
    private const double BoxRadius = 1.01;

    /// <summary>Targets farther than this many h from a box centre ignore the box.</summary>
    private const double Window = 6.5;

    /// <summary>Below this many kernel evaluations the direct sum is cheaper than any setup.</summary>
    private const long DirectWorkLimit = 8192;

    /// <summary>Boxes this small are summed directly: an expansion costs more than a few exps.</summary>
    private const int DirectBoxLimit = 2;

    /// <summary>Windows spanning fewer blocks than this evaluate the Gaussian factor directly.</summary>
    private const int RecurrenceMinBlocks = 3;

    /// <summary>2^-53, the relative rounding error of one float64 operation.</summary>
    private const double UnitRoundoff = 1.1102230246251565e-16;

    private static readonly double SqrtTwoPi = Math.Sqrt(2 * Math.PI);

    private static readonly double[] InverseFactorials = ComputeInverseFactorials();

    /// <summary>Per-source error of truncation plus windowing, in units of one kernel peak.</summary>
    internal static readonly double ApproximationBound = ComputeApproximationBound();

    private static double ComputeApproximationBound()
    {
        // The maximiser of (p+1)·ln(u) - (u-ρ)²/2 solves u² - ρu - (p+1) = 0.
        int m = Order + 1;
        double u = (BoxRadius + Math.Sqrt((BoxRadius * BoxRadius) + (4.0 * m))) / 2;
        double logTerm = (m * Math.Log(u * BoxRadius)) - ((u - BoxRadius) * (u - BoxRadius) / 2);
        for (int i = 2; i <= m; i++)
        {
            logTerm -= Math.Log(i);
        }

        double truncation = Math.Exp(logTerm);
        double window = Math.Exp(-(Window - BoxRadius) * (Window - BoxRadius) / 2);
        return truncation + window;
    }

    private static double[] ComputeInverseFactorials()
    {
        var result = new double[Order + 1];
        double factorial = 1;
        for (int m = 0; m <= Order; m++)
        {
            factorial *= Math.Max(1, m);
            result[m] = 1 / factorial;
        }

        return result;
    }

    /// <summary>The reference density at one grid point: the plain float64 sum in index order.</summary>
    internal static double Direct(ReadOnlySpan<float> row, double g, double h)
    {
        double twoHSquared = 2 * h * h;
        double sum = 0;
        for (int i = 0; i < row.Length; i++)
        {
            double d = g - row[i];
            sum += Math.Exp(-(d * d) / twoHSquared);
        }

        return sum / (row.Length * h * SqrtTwoPi);
    }

    /// <summary>
    /// Writes round-half-to-even densities of <paramref name="row"/> at grid[0..k) into
    /// <paramref name="rounded"/>.
    /// </summary>
    /// <param name="row">The row in its own order (the direct sum's order).</param>
    /// <param name="sortedX">The row's values ascending.</param>
    /// <param name="grid">The grid, padded with at least four vectors of copies of its last point.</param>
    /// <param name="k">Number of grid points.</param>
    /// <param name="step">Grid spacing (unused when k is 1).</param>
    /// <param name="h">Bandwidth, positive.</param>
    /// <param name="sums">Scratch as long as <paramref name="grid"/>.</param>
    /// <param name="rounded">Receives the rounded densities.</param>
    internal static void Rounded(
        ReadOnlySpan<float> row,
        ReadOnlySpan<double> sortedX,
        ReadOnlySpan<double> grid,
        int k,
        double step,
        double h,
        Span<double> sums,
        Span<double> rounded)
    {
        int n = row.Length;
        if ((long)n * k <= DirectWorkLimit || k < 2)
        {
            for (int j = 0; j < k; j++)
            {
                rounded[j] = Math.Round(Direct(row, grid[j], h));
            }

            return;
        }

        sums.Clear();
        AccumulateBoxes(sortedX, grid, k, step, h, sums);

        double scale = 1 / (h * SqrtTwoPi);
        double norm = scale / n;

        // Float64 rounding in both sums, the vector exp and the expansion stays far below this.
        double tolerance = (ApproximationBound + RecurrenceError(k) + (8.0 * (n + 64) * UnitRoundoff)) * scale;
        for (int j = 0; j < k; j++)
        {
            double density = sums[j] * norm;
            double distanceToHalf = Math.Abs(density - Math.Floor(density) - 0.5);
            rounded[j] = distanceToHalf > tolerance
                ? Math.Round(density)
                : Math.Round(Direct(row, grid[j], h));
        }
    }

    /// <summary>
    /// Bound on the relative error of a Gaussian factor from the block recurrence, per source. After
    /// m steps the factor is a product of m ratios, the i-th itself a product of i rounded factors:
    /// at most about m²/2 + 2m roundings, each 2^-53 (plus the exponentials' few ulps), over at most
    /// k / 4 + 2 steps; the grid's own rounding moves t by ulps, a relative 1e-13 at most.
    /// Doubled and rounded up, it stays below 1e-9 even for k = 10^5, far under the truncation bound.
    /// </summary>
    internal static double RecurrenceError(int k)
    {
        double m = (k / 4.0) + 2;
        return (((m * m) + (10 * m) + 10) * 8 * UnitRoundoff) + 1e-12;
    }

    private static void AccumulateBoxes(ReadOnlySpan<double> sortedX, ReadOnlySpan<double> grid, int k, double step, double h, Span<double> sums)
    {
        int n = sortedX.Length;
        double invH = 1 / h;
        double min = grid[0];
        Span<Vector<double>> broadcast = stackalloc Vector<double>[Order + 1];

        int start = 0;
        while (start < n)
        {
            double first = sortedX[start];
            int end = start + 1;
            while (end < n && sortedX[end] - first <= BoxWidth * h)
            {
                end++;
            }

            if (end - start <= DirectBoxLimit)
            {
                for (int i = start; i < end; i++)
                {
                    AccumulateSource(sortedX[i], grid, k, step, min, h, invH, sums);
                }
            }
            else
            {
                double centre = (first + sortedX[end - 1]) / 2;
                BoxCoefficients(sortedX[start..end], centre, invH, broadcast);
                WindowOf(centre, k, step, min, h, out int lo, out int hi);
                AccumulateExpansion(centre, invH, step * invH, broadcast, grid, sums, lo, hi);
            }

            start = end;
        }
    }

    /// <summary>
    /// The box's expansion coefficients A_m = Σ exp(-s²/2) s^m / m!, broadcast into vectors.
    /// </summary>
    private static void BoxCoefficients(ReadOnlySpan<double> box, double centre, double invH, Span<Vector<double>> a)
    {
        int lanes = Vector<double>.Count;
        Span<Vector<double>> sums = stackalloc Vector<double>[Order + 1];
        sums.Clear();
        var vc = new Vector<double>(centre);
        var vInvH = new Vector<double>(invH);
        var vMinusHalf = new Vector<double>(-0.5);

        // Four blocks at once: each block's powers are a chain of dependent multiplies, and four
        // chains hide their latency.
        int i = 0;
        for (; i + (4 * lanes) <= box.Length; i += 4 * lanes)
        {
            var s0 = (new Vector<double>(box[i..]) - vc) * vInvH;
            var s1 = (new Vector<double>(box[(i + lanes)..]) - vc) * vInvH;
            var s2 = (new Vector<double>(box[(i + (2 * lanes))..]) - vc) * vInvH;
            var s3 = (new Vector<double>(box[(i + (3 * lanes))..]) - vc) * vInvH;
            var p0 = Vector.Exp(vMinusHalf * s0 * s0);
            var p1 = Vector.Exp(vMinusHalf * s1 * s1);
            var p2 = Vector.Exp(vMinusHalf * s2 * s2);
            var p3 = Vector.Exp(vMinusHalf * s3 * s3);
            sums[0] += (p0 + p1) + (p2 + p3);
            for (int m = 1; m <= Order; m++)
            {
                p0 *= s0;
                p1 *= s1;
                p2 *= s2;
                p3 *= s3;
                sums[m] += (p0 + p1) + (p2 + p3);
            }
        }

        // The rest, one block at a time; the last block pads with zero weight.
        Span<double> block = stackalloc double[lanes];
        Span<double> weight = stackalloc double[lanes];
        for (; i < box.Length; i += lanes)
        {
            int count = Math.Min(lanes, box.Length - i);
            for (int l = 0; l < lanes; l++)
            {
                block[l] = l < count ? box[i + l] : centre;
                weight[l] = l < count ? 1 : 0;
            }

            var s = (new Vector<double>(block) - vc) * vInvH;
            var power = Vector.Exp(vMinusHalf * s * s) * new Vector<double>(weight);
            sums[0] += power;
            for (int m = 1; m <= Order; m++)
            {
                power *= s;
                sums[m] += power;
            }
        }

        for (int m = 0; m <= Order; m++)
        {
            a[m] = new Vector<double>(Vector.Sum(sums[m]) * InverseFactorials[m]);
        }
    }

    /// <summary>Grid indices within Window·h of <paramref name="centre"/>, widened by one for rounding.</summary>
    private static void WindowOf(double centre, int k, double step, double min, double h, out int lo, out int hi)
    {
        double reach = Window * h;
        double loD = Math.Ceiling((centre - reach - min) / step) - 1;
        double hiD = Math.Floor((centre + reach - min) / step) + 1;
        lo = loD <= 0 ? 0 : loD >= k - 1 ? k - 1 : (int)loD;
        hi = hiD <= 0 ? 0 : hiD >= k - 1 ? k - 1 : (int)hiD;
    }

    private static void AccumulateSource(double x, ReadOnlySpan<double> grid, int k, double step, double min, double h, double invH, Span<double> sums)
    {
        WindowOf(x, k, step, min, h, out int lo, out int hi);
        var vx = new Vector<double>(x);
        var vInvH = new Vector<double>(invH);
        var vMinusHalf = new Vector<double>(-0.5);

        // Grid and sums are padded, so the last block may run past hi; extra targets
        // only receive more (accurate) contributions.
        for (int j = lo; j <= hi; j += Vector<double>.Count)
        {
            var t = (new Vector<double>(grid[j..]) - vx) * vInvH;
            var e = Vector.Exp(vMinusHalf * t * t);
            (new Vector<double>(sums[j..]) + e).CopyTo(sums[j..]);
        }
    }

    private static void AccumulateExpansion(double centre, double invH, double delta, ReadOnlySpan<Vector<double>> a, ReadOnlySpan<double> grid, Span<double> sums, int lo, int hi)
    {
        var vc = new Vector<double>(centre);
        var vInvH = new Vector<double>(invH);
        var vMinusHalf = new Vector<double>(-0.5);
        int lanes = Vector<double>.Count;
        int stride = 4 * lanes;

        // On the uniform grid the Gaussian factor follows a recurrence: with d = stride·δ,
        // exp(-(t+d)²/2) = exp(-t²/2)·Q(t), Q(t) = exp(-t·d - d²/2) and Q(t+d) = Q(t)·exp(-d²): two
        // multiplies per block instead of an exponential. Only where the window spans several
        // blocks and Q stays far from overflow; its rounding is bounded in RecurrenceError.
        double d = stride * delta;
        bool recur = hi - lo >= RecurrenceMinBlocks * stride && d * (Window + 2 + d) <= 600;
        var vMinusD = new Vector<double>(-d);
        var vHalfDD = new Vector<double>(d * d / 2);
        var step = new Vector<double>(Math.Exp(-d * d));
        Vector<double> e0 = default, e1 = default, e2 = default, e3 = default;
        Vector<double> q0 = default, q1 = default, q2 = default, q3 = default;

        // Four vectors per iteration: Horner is a chain of dependent FMAs, and four chains hide the
        // FMA latency. The grid and sums are padded by four vectors for the last block.
        for (int j = lo; j <= hi; j += stride)
        {
            var t0 = (new Vector<double>(grid[j..]) - vc) * vInvH;
            var t1 = (new Vector<double>(grid[(j + lanes)..]) - vc) * vInvH;
            var t2 = (new Vector<double>(grid[(j + (2 * lanes))..]) - vc) * vInvH;
            var t3 = (new Vector<double>(grid[(j + (3 * lanes))..]) - vc) * vInvH;
            if (!recur || j == lo)
            {
                e0 = Vector.Exp(vMinusHalf * t0 * t0);
                e1 = Vector.Exp(vMinusHalf * t1 * t1);
                e2 = Vector.Exp(vMinusHalf * t2 * t2);
                e3 = Vector.Exp(vMinusHalf * t3 * t3);
                if (recur)
                {
                    q0 = Vector.Exp((vMinusD * t0) - vHalfDD);
                    q1 = Vector.Exp((vMinusD * t1) - vHalfDD);
                    q2 = Vector.Exp((vMinusD * t2) - vHalfDD);
                    q3 = Vector.Exp((vMinusD * t3) - vHalfDD);
                }
            }

            var p0 = a[Order];
            var p1 = p0;
            var p2 = p0;
            var p3 = p0;
            for (int m = Order - 1; m >= 0; m--)
            {
                var am = a[m];
                p0 = Vector.FusedMultiplyAdd(p0, t0, am);
                p1 = Vector.FusedMultiplyAdd(p1, t1, am);
                p2 = Vector.FusedMultiplyAdd(p2, t2, am);
                p3 = Vector.FusedMultiplyAdd(p3, t3, am);
            }

            (new Vector<double>(sums[j..]) + (e0 * p0)).CopyTo(sums[j..]);
            (new Vector<double>(sums[(j + lanes)..]) + (e1 * p1)).CopyTo(sums[(j + lanes)..]);
            (new Vector<double>(sums[(j + (2 * lanes))..]) + (e2 * p2)).CopyTo(sums[(j + (2 * lanes))..]);
            (new Vector<double>(sums[(j + (3 * lanes))..]) + (e3 * p3)).CopyTo(sums[(j + (3 * lanes))..]);
            if (recur)
            {
                e0 *= q0;
                e1 *= q1;
                e2 *= q2;
                e3 *= q3;
                q0 *= step;
                q1 *= step;
                q2 *= step;
                q3 *= step;
            }
        }
    }
}
