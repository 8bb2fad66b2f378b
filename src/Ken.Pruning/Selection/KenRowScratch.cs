using System.Numerics;

namespace Ken.Pruning.Selection;

/// <summary>
/// Per-thread buffers for <see cref="KenSelector"/>, grown on demand and reused, so selecting a
/// row allocates nothing once a thread has seen its largest row.
/// </summary>
internal sealed class KenRowScratch
{
    [ThreadStatic]
    private static KenRowScratch? current;

    internal ulong[] Items { get; private set; } = [];

    internal ulong[] ItemsScratch { get; private set; } = [];

    internal int[] Order { get; private set; } = [];

    internal float[] SortedValues { get; private set; } = [];

    internal double[] SortedX { get; private set; } = [];

    internal int[] GroupStart { get; private set; } = [];

    internal int[] GroupEnd { get; private set; } = [];

    internal ulong[] SlotWords { get; private set; } = [];

    internal ulong[] SlotSummary { get; private set; } = [];

    internal double[] Grid { get; private set; } = [];

    internal double[] Sums { get; private set; } = [];

    internal double[] Rounded { get; private set; } = [];

    internal int[] Split { get; private set; } = [];

    internal int[] Visit { get; private set; } = [];

    internal int[] Buckets { get; private set; } = [];

    /// <summary>The radix sort's four digit histograms.</summary>
    internal int[] DigitCounts { get; } = new int[4 * 256];

    internal static KenRowScratch ForCurrentThread(int n, int k)
    {
        KenRowScratch scratch = current ??= new KenRowScratch();
        scratch.Ensure(n, k);
        return scratch;
    }

    internal int[] EnsureBuckets(int count)
    {
        if (Buckets.Length < count)
        {
            Buckets = new int[Grow(Buckets.Length, count)];
        }

        return Buckets;
    }

    private static int Grow(int have, int need) => Math.Max(need, have * 2);

    private void Ensure(int n, int k)
    {
        if (Items.Length < n)
        {
            int size = Grow(Items.Length, n);
            Items = new ulong[size];
            ItemsScratch = new ulong[size];
            Order = new int[size];
            SortedValues = new float[size];
            SortedX = new double[size];
            GroupStart = new int[size];
            GroupEnd = new int[size];
            SlotWords = new ulong[UntakenSlots.WordCount(size)];
            SlotSummary = new ulong[UntakenSlots.SummaryCount(size)];
        }

        // Grid-sized buffers carry four vectors of padding for the density kernels' last block.
        int gridNeed = k + (4 * Vector<double>.Count);
        if (Grid.Length < gridNeed)
        {
            int size = Grow(Grid.Length, gridNeed);
            Grid = new double[size];
            Sums = new double[size];
            Rounded = new double[size];
            Split = new int[size];
            Visit = new int[size];
        }
    }
}
