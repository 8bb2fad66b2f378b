namespace Ken.Runtime.Tokenization;

/// <summary>Turns request texts into the token ids a backend runs; safe to call from many threads at once.</summary>
public interface ITextTokenizer
{
    /// <summary>The longest sequence produced, [CLS] and [SEP] included; longer texts are truncated.</summary>
    int MaxSequenceLength { get; }

    /// <summary>
    /// Tokenizes every text of one request. Throws <see cref="Ken.Format.KenException"/> for an empty request
    /// or an empty text, before any text is encoded.
    /// </summary>
    IReadOnlyList<TokenizedText> Tokenize(IReadOnlyList<string> texts);
}
