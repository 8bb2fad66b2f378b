using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Ken.Pruning.Selection;

/// <summary>
/// KEN's selection (DESIGN.md, "KEN selection"): a Gaussian KDE on a k-point grid, grid points
/// visited by rounded density, each taking the nearest not-yet-taken value. Thread-safe; buffers
/// are per thread.
/// </summary>
public sealed class KenSelector : IRowSelector
{
    /// <inheritdoc />
    public string Method => "ken";

    /// <inheritdoc />
    public int SelectRow(ReadOnlySpan<float> finetuned, ReadOnlySpan<float> pretrained, int k, long rowIndex, Span<int> positions)
    {
        int n = finetuned.Length;
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        NonFiniteValueException.ThrowIfAnyNonFinite(finetuned, rowIndex);
        if (k >= n)
        {
            return WriteFirst(n, positions);
        }

        double std = RowStatistics.StandardDeviation(finetuned);
        if (std == 0)
        {
            return WriteFirst(k, positions);
        }

        double h = 1.06 * std * Math.Pow(n, -0.2);

        KenRowScratch scratch = KenRowScratch.ForCurrentThread(n, k);
        SortRow(finetuned, scratch, n);

        Span<double> grid = scratch.Grid;
        double min = scratch.SortedX[0];
        double max = scratch.SortedX[n - 1];
        double step = k > 1 ? (max - min) / (k - 1) : 0;
        FillGrid(grid, k, min, max, step);

        Span<double> rounded = scratch.Rounded.AsSpan(0, k);
        GridDensity.Rounded(finetuned, scratch.SortedX.AsSpan(0, n), grid, k, step, h, scratch.Sums, rounded);

        Span<int> visit = scratch.Visit.AsSpan(0, k);
        VisitOrder(rounded, visit, scratch);

        return Assign(scratch, n, k, visit, positions);
    }

    private static int WriteFirst(int count, Span<int> positions)
    {
        for (int i = 0; i < count; i++)
        {
            positions[i] = i;
        }

        return count;
    }

    /// <summary>Sorts the row by (value, position) and records equal-value runs.</summary>
    private static void SortRow(ReadOnlySpan<float> row, KenRowScratch scratch, int n)
    {
        Span<ulong> items = scratch.Items.AsSpan(0, n);
        RadixSort.SortFloats(row, items, scratch.ItemsScratch, scratch.DigitCounts);

        // The value comes back from its key (which maps -0 to +0, so the run of zeros holds one
        // value) rather than from a gather into the row. Every scratch array holds at least n
        // elements (KenRowScratch.Ensure), so the unchecked accesses stay inside them.
        ref ulong item = ref MemoryMarshal.GetReference(items);
        ref int order = ref MemoryMarshal.GetArrayDataReference(scratch.Order);
        ref float values = ref MemoryMarshal.GetArrayDataReference(scratch.SortedValues);
        ref double x = ref MemoryMarshal.GetArrayDataReference(scratch.SortedX);
        ref int groupStart = ref MemoryMarshal.GetArrayDataReference(scratch.GroupStart);
        ref int groupEnd = ref MemoryMarshal.GetArrayDataReference(scratch.GroupEnd);
        for (int p = 0; p < n; p++)
        {
            ulong it = Unsafe.Add(ref item, p);
            Unsafe.Add(ref order, p) = (int)(uint)it;
            float v = RadixSort.KeyToFloat((uint)(it >> 32));
            Unsafe.Add(ref values, p) = v;
            Unsafe.Add(ref x, p) = v;
        }

        // Runs of equal values: each slot's first and last slot of its run, in one pass each way.
        Unsafe.Add(ref groupStart, 0) = 0;
        for (int p = 1; p < n; p++)
        {
            Unsafe.Add(ref groupStart, p) = Unsafe.Add(ref values, p) == Unsafe.Add(ref values, p - 1) ? Unsafe.Add(ref groupStart, p - 1) : p;
        }

        Unsafe.Add(ref groupEnd, n - 1) = n - 1;
        for (int p = n - 2; p >= 0; p--)
        {
            Unsafe.Add(ref groupEnd, p) = Unsafe.Add(ref values, p) == Unsafe.Add(ref values, p + 1) ? Unsafe.Add(ref groupEnd, p + 1) : p;
        }
    }

    /// <summary>numpy.linspace(min, max, k): j·step + min, the last point exactly max.</summary>
    private static void FillGrid(Span<double> grid, int k, double min, double max, double step)
    {
        for (int j = 0; j < k; j++)
        {
            grid[j] = (j * step) + min;
        }

        if (k > 1)
        {
            grid[k - 1] = max;
        }

        grid[k..].Fill(grid[k - 1]);
    }

    /// <summary>Grid indices by rounded density descending, ties by index ascending.</summary>
    private static void VisitOrder(ReadOnlySpan<double> rounded, Span<int> visit, KenRowScratch scratch)
    {
        int k = rounded.Length;
        double top = 0;
        for (int j = 0; j < k; j++)
        {
            // Densities are finite, so a comparison is the maximum (no NaN handling needed).
            top = rounded[j] > top ? rounded[j] : top;
        }

        // Densities are small integers in practice, so a counting sort (stable) fits; the general
        // path is only for rows with a tiny spread and hence huge densities.
        const int BucketLimit = 1 << 16;
        if (top < BucketLimit)
        {
            int buckets = (int)top + 1;
            Span<int> starts = scratch.EnsureBuckets(buckets + 1).AsSpan(0, buckets + 1);
            starts.Clear();
            for (int j = 0; j < k; j++)
            {
                starts[(int)top - Bucket(rounded[j]) + 1]++;
            }

            for (int b = 1; b <= buckets; b++)
            {
                starts[b] += starts[b - 1];
            }

            for (int j = 0; j < k; j++)
            {
                visit[starts[(int)top - Bucket(rounded[j])]++] = j;
            }

            return;
        }

        for (int j = 0; j < k; j++)
        {
            visit[j] = j;
        }

        visit.Sort(new DensityOrder(scratch.Rounded));
    }

    /// <summary>A rounded density as a bucket; a tiny negative approximation rounds to -0.</summary>
    private static int Bucket(double rounded) => rounded <= 0 ? 0 : (int)rounded;

    /// <summary>The greedy step: each visited grid point takes its nearest untaken position.</summary>
    private static int Assign(KenRowScratch scratch, int n, int k, ReadOnlySpan<int> visit, Span<int> positions)
    {
        ReadOnlySpan<float> values = scratch.SortedValues.AsSpan(0, n);
        ReadOnlySpan<int> order = scratch.Order.AsSpan(0, n);
        ReadOnlySpan<int> groupStart = scratch.GroupStart.AsSpan(0, n);
        ReadOnlySpan<int> groupEnd = scratch.GroupEnd.AsSpan(0, n);
        ReadOnlySpan<double> grid = scratch.Grid;

        // split[j]: the last sorted slot whose value is <= (float)g_j, or -1. The grid ascends, so a
        // pointer that can also step back (in case rounding ever breaks monotonicity) finds it.
        Span<int> split = scratch.Split.AsSpan(0, k);
        int ptr = 0;
        for (int j = 0; j < k; j++)
        {
            float g = (float)grid[j];
            while (ptr < n && values[ptr] <= g)
            {
                ptr++;
            }

            while (ptr > 0 && values[ptr - 1] > g)
            {
                ptr--;
            }

            split[j] = ptr - 1;
        }

        var untaken = new UntakenSlots(n, scratch.SlotWords, scratch.SlotSummary);

        // Unchecked indexing below: every index is a slot in [0, n).
        ref float val = ref MemoryMarshal.GetReference(values);
        ref int ord = ref MemoryMarshal.GetReference(order);
        ref int gs = ref MemoryMarshal.GetReference(groupStart);
        ref int ge = ref MemoryMarshal.GetReference(groupEnd);
        for (int v = 0; v < k; v++)
        {
            int j = visit[v];
            float g = (float)grid[j];
            int below = untaken.Below(split[j]);
            int above = untaken.Above(split[j] + 1);
            float dBelow = below >= 0 ? MathF.Abs(Unsafe.Add(ref val, below) - g) : float.PositiveInfinity;
            float dAbove = above < n ? MathF.Abs(Unsafe.Add(ref val, above) - g) : float.PositiveInfinity;
            // Distances are finite or +infinity, so a plain comparison is the minimum (Math.Min's
            // NaN and signed-zero handling costs more).
            float best = dBelow <= dAbove ? dBelow : dAbove;

            // Several values can share the float32 distance (rounding, or symmetry around g): walk
            // every untaken value run at that distance and keep the smallest position. Within a run
            // positions ascend, so its first untaken slot is its smallest position. Rounding is
            // monotonic, so a value farther from g than the slot next to a run is never closer:
            // when that neighbour's distance exceeds the best, no further run can tie.
            int chosenSlot = -1;
            int chosenPosition = int.MaxValue;
            if (dBelow == best)
            {
                for (int p = below; p >= 0 && MathF.Abs(Unsafe.Add(ref val, p) - g) == best;)
                {
                    int start = Unsafe.Add(ref gs, p);
                    int q = start == p ? p : untaken.Above(start);
                    if (Unsafe.Add(ref ord, q) < chosenPosition)
                    {
                        chosenPosition = Unsafe.Add(ref ord, q);
                        chosenSlot = q;
                    }

                    int next = start - 1;
                    if (next < 0 || MathF.Abs(Unsafe.Add(ref val, next) - g) != best)
                    {
                        break;
                    }

                    p = untaken.Below(next);
                }
            }

            if (dAbove == best)
            {
                for (int p = above; p < n && MathF.Abs(Unsafe.Add(ref val, p) - g) == best;)
                {
                    // The run lies wholly above the split and every slot between the split and p
                    // is taken, so p is the run's first untaken slot.
                    if (Unsafe.Add(ref ord, p) < chosenPosition)
                    {
                        chosenPosition = Unsafe.Add(ref ord, p);
                        chosenSlot = p;
                    }

                    int next = Unsafe.Add(ref ge, p) + 1;
                    if (next >= n || MathF.Abs(Unsafe.Add(ref val, next) - g) != best)
                    {
                        break;
                    }

                    p = untaken.Above(next);
                }
            }

            untaken.Take(chosenSlot);
            positions[v] = chosenPosition;
        }

        return k;
    }

    /// <summary>Orders grid indices by rounded density descending, then index ascending.</summary>
    private readonly struct DensityOrder(double[] rounded) : IComparer<int>
    {
        public int Compare(int x, int y)
        {
            int byDensity = rounded[y].CompareTo(rounded[x]);
            return byDensity != 0 ? byDensity : x.CompareTo(y);
        }
    }
}
