namespace Ken.Server.Scheduling;

/// <summary>
/// What one batch may still take: at most <see cref="MaxTexts"/> texts and <see cref="MaxTokens"/> padded
/// tokens (texts × longest text). The first addition always fits, so a request larger than the budget
/// still runs, alone.
/// </summary>
internal struct BatchBudget
{
    public BatchBudget(int maxTexts, int maxTokens)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTexts, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 1);
        MaxTexts = maxTexts;
        MaxTokens = maxTokens;
    }

    public int MaxTexts { get; }

    public int MaxTokens { get; }

    public int Texts { get; private set; }

    /// <summary>Tokens of the longest text taken, which every row is padded to.</summary>
    public int Longest { get; private set; }

    public readonly long PaddedTokens => (long)Texts * Longest;

    /// <summary>True when no further text can join.</summary>
    public readonly bool IsFull => Texts >= MaxTexts || PaddedTokens >= MaxTokens;

    /// <summary>Takes <paramref name="texts"/> texts whose longest has <paramref name="longest"/> tokens, unless they would overflow a non-empty batch.</summary>
    public bool TryAdd(int texts, int longest)
    {
        var total = Texts + texts;
        var padded = Math.Max(Longest, longest);
        if (Texts > 0 && (total > MaxTexts || (long)total * padded > MaxTokens))
        {
            return false;
        }

        Texts = total;
        Longest = padded;
        return true;
    }
}
