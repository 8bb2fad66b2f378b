using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Ken.Pruning.Selection;

/// <summary>
/// The not-yet-taken slots of a sorted row as a bitset with a summary of its non-empty words, so
/// the nearest untaken slot on either side is a couple of bit scans (one summary word covers 4096
/// slots, which is every row of a BERT-sized model).
/// </summary>
internal readonly ref struct UntakenSlots
{
    private readonly Span<ulong> _words;
    private readonly Span<ulong> _summary;
    private readonly int _n;

    /// <summary>All <paramref name="n"/> slots untaken, over caller-owned buffers.</summary>
    /// <param name="n">Number of slots.</param>
    /// <param name="words">At least <see cref="WordCount"/>(n) words.</param>
    /// <param name="summary">At least <see cref="SummaryCount"/>(n) words.</param>
    internal UntakenSlots(int n, Span<ulong> words, Span<ulong> summary)
    {
        _n = n;
        int wordCount = WordCount(n);
        _words = words[..wordCount];
        _summary = summary[..SummaryCount(n)];
        _words.Fill(ulong.MaxValue);
        if ((n & 63) != 0)
        {
            _words[^1] = (1UL << (n & 63)) - 1;
        }

        _summary.Fill(ulong.MaxValue);
        if ((wordCount & 63) != 0)
        {
            _summary[^1] = (1UL << (wordCount & 63)) - 1;
        }
    }

    internal static int WordCount(int n) => (n + 63) >> 6;

    internal static int SummaryCount(int n) => (WordCount(n) + 63) >> 6;

    /// <summary>The largest untaken slot at or below <paramref name="slot"/>, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int Below(int slot)
    {
        if (slot < 0)
        {
            return -1;
        }

        slot = Math.Min(slot, _n - 1);
        int w = slot >> 6;
        ulong bits = Unsafe.Add(ref MemoryMarshal.GetReference(_words), w) & (ulong.MaxValue >> (63 - (slot & 63)));
        return bits != 0 ? (w << 6) + 63 - BitOperations.LeadingZeroCount(bits) : WordBelow(w);
    }

    /// <summary>The smallest untaken slot at or above <paramref name="slot"/>, or n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int Above(int slot)
    {
        if (slot >= _n)
        {
            return _n;
        }

        slot = Math.Max(slot, 0);
        int w = slot >> 6;
        ulong bits = Unsafe.Add(ref MemoryMarshal.GetReference(_words), w) & (ulong.MaxValue << (slot & 63));
        return bits != 0 ? (w << 6) + BitOperations.TrailingZeroCount(bits) : WordAbove(w);
    }

    /// <summary>Marks an untaken slot as taken.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Take(int slot)
    {
        int w = slot >> 6;
        ref ulong word = ref Unsafe.Add(ref MemoryMarshal.GetReference(_words), w);
        word &= ~(1UL << (slot & 63));
        if (word == 0)
        {
            _summary[w >> 6] &= ~(1UL << (w & 63));
        }
    }

    /// <summary>The largest untaken slot in a word below word <paramref name="w"/>, or -1.</summary>
    private int WordBelow(int w)
    {
        // Summary words at or below w's, the first masked to the words below w.
        int s = w >> 6;
        ulong mask = (1UL << (w & 63)) - 1;
        for (; s >= 0; s--, mask = ulong.MaxValue)
        {
            ulong live = _summary[s] & mask;
            if (live != 0)
            {
                int word = (s << 6) + 63 - BitOperations.LeadingZeroCount(live);
                return (word << 6) + 63 - BitOperations.LeadingZeroCount(_words[word]);
            }
        }

        return -1;
    }

    /// <summary>The smallest untaken slot in a word above word <paramref name="w"/>, or n.</summary>
    private int WordAbove(int w)
    {
        // Summary words at or above w's, the first masked to the words above w; a shift by 64 is
        // a shift by 0 in C#, hence the explicit case for the last word of a summary word.
        int s = w >> 6;
        ulong mask = (w & 63) == 63 ? 0 : ulong.MaxValue << ((w & 63) + 1);
        for (; s < _summary.Length; s++, mask = ulong.MaxValue)
        {
            ulong live = _summary[s] & mask;
            if (live != 0)
            {
                int word = (s << 6) + BitOperations.TrailingZeroCount(live);
                return (word << 6) + BitOperations.TrailingZeroCount(_words[word]);
            }
        }

        return _n;
    }
}
