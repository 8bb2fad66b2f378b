using Ken.Pruning.Selection;

namespace Ken.Pruning.Tests.Selection;

public class UntakenSlotsTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(768)]
    [InlineData(4096)]
    [InlineData(4097)]
    [InlineData(9000)]
    public void Nearest_untaken_slots_match_a_plain_array_while_slots_are_taken(int n)
    {
        var rng = new Random(n);
        var words = new ulong[UntakenSlots.WordCount(n)];
        var summary = new ulong[UntakenSlots.SummaryCount(n)];
        var slots = new UntakenSlots(n, words, summary);
        var taken = new bool[n];
        int[] order = [.. Enumerable.Range(0, n)];
        rng.Shuffle(order);

        // Take every slot in random order, checking both directions from random and edge slots.
        foreach (int slot in order)
        {
            for (int probe = 0; probe < 4; probe++)
            {
                int s = probe switch { 0 => 0, 1 => n - 1, _ => rng.Next(-1, n + 1) };
                Assert.Equal(NaiveBelow(taken, s), slots.Below(s));
                Assert.Equal(NaiveAbove(taken, s), slots.Above(s));
            }

            slots.Take(slot);
            taken[slot] = true;
        }

        Assert.Equal(-1, slots.Below(n - 1));
        Assert.Equal(n, slots.Above(0));
    }

    private static int NaiveBelow(bool[] taken, int slot)
    {
        for (int i = Math.Min(slot, taken.Length - 1); i >= 0; i--)
        {
            if (!taken[i])
            {
                return i;
            }
        }

        return -1;
    }

    private static int NaiveAbove(bool[] taken, int slot)
    {
        for (int i = Math.Max(slot, 0); i < taken.Length; i++)
        {
            if (!taken[i])
            {
                return i;
            }
        }

        return taken.Length;
    }
}
