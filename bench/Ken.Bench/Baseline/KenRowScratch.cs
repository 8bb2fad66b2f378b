using System.Numerics;

namespace Ken.Bench.Baseline;


/// <summary>
/// Per-thread buffers for <see cref="BaselineKenSelector"/>, grown on demand and reused, so selecting a
/// row allocates nothing once a thread has seen its largest row.
/// </summary>
internal sealed class KenRowScratch
{
    [ThreadStatic]
    private static KenRowScratch? current;

    internal uint[] Keys { get; private set; } = [];

    internal uint[] KeysScratch { get; private set; } = [];

    internal int[] Order { get; private set; } = [];

    internal int[] OrderScratch { get; private set; } = [];

    internal float[] SortedValues { get; private set; } = [];

    internal double[] SortedX { get; private set; } = [];

    internal int[] GroupStart { get; private set; } = [];

    internal int[] GroupEnd { get; private set; } = [];

    internal int[] LeftParent { get; private set; } = [];

    internal int[] RightParent { get; private set; } = [];

    internal double[] Grid { get; private set; } = [];

    internal double[] Sums { get; private set; } = [];

    internal double[] Rounded { get; private set; } = [];

    internal int[] Split { get; private set; } = [];

    internal int[] Visit { get; private set; } = [];

    internal int[] Buckets { get; private set; } = [];

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
        if (Keys.Length < n)
        {
            int size = Grow(Keys.Length, n);
            Keys = new uint[size];
            KeysScratch = new uint[size];
            Order = new int[size];
            OrderScratch = new int[size];
            SortedValues = new float[size];
            SortedX = new double[size];
            GroupStart = new int[size];
            GroupEnd = new int[size];
            LeftParent = new int[size + 1];
            RightParent = new int[size + 1];
        }

        // Grid-sized buffers carry two vectors of padding for the density kernels' last block.
        int gridNeed = k + (2 * Vector<double>.Count);
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
