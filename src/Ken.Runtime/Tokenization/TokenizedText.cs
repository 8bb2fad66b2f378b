namespace Ken.Runtime.Tokenization;

/// <summary>
/// One text as the encoder reads it: token ids with [CLS] and [SEP], cut to the model's maximum. Made once
/// at admission, so a slot only pads and copies rows.
/// </summary>
public sealed class TokenizedText
{
    public TokenizedText(long[] ids, bool truncated)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentOutOfRangeException.ThrowIfZero(ids.Length);
        Ids = ids;
        Truncated = truncated;
    }

    /// <summary>Token ids, [CLS] first and [SEP] last; no padding.</summary>
    public ReadOnlyMemory<long> Ids { get; }

    /// <summary>The number of tokens, [CLS] and [SEP] included.</summary>
    public int Length => Ids.Length;

    /// <summary>Whether the text was cut to the model's maximum sequence length.</summary>
    public bool Truncated { get; }
}
