using System.Globalization;
using System.Text;
using FastBertTokenizer;
using Ken.Format;

namespace Ken.Runtime.Tokenization;

/// <summary>
/// BERT WordPiece tokenization of single-segment texts for the backbone, over FastBertTokenizer.
/// Immutable after loading and safe to share between threads; the mutable state of a call lives in the
/// <see cref="TokenizedBatch"/> the caller passes in.
/// </summary>
/// <remarks>
/// Only FastBertTokenizer's span overloads are used: its overloads that return memory reuse buffers inside
/// the tokenizer instance and would make sharing unsafe.
/// </remarks>
public sealed class BertTextTokenizer : ITextTokenizer
{
    public const int DefaultMaxSequenceLength = 512;
    public const int DefaultMaxBatchSize = 256;

    private const string ClsToken = "[CLS]";
    private const string SepToken = "[SEP]";
    private const string PadToken = "[PAD]";
    private const string UnknownToken = "[UNK]";

    private readonly BertTokenizer _inner;
    private readonly long _padId;

    private BertTextTokenizer(BertTokenizer inner, bool lowercasesInput, int vocabularySize, long clsId, long sepId, long padId, int maxSequenceLength, int maxBatchSize)
    {
        _inner = inner;
        LowercasesInput = lowercasesInput;
        VocabularySize = vocabularySize;
        ClsId = clsId;
        SepId = sepId;
        _padId = padId;
        MaxSequenceLength = maxSequenceLength;
        MaxBatchSize = maxBatchSize;
    }

    /// <summary>True for an uncased vocabulary: input is lowercased and stripped of accents, as Hugging Face's <c>do_lower_case=True</c> does.</summary>
    public bool LowercasesInput { get; }

    /// <summary>The number of tokens in the vocabulary; token ids are below this.</summary>
    public int VocabularySize { get; }

    /// <summary>The longest sequence produced, [CLS] and [SEP] included; longer texts are truncated.</summary>
    public int MaxSequenceLength { get; }

    /// <summary>The most texts one call accepts.</summary>
    public int MaxBatchSize { get; }

    public long ClsId { get; }

    public long SepId { get; }

    public long PadId => _padId;

    /// <summary>Loads a Hugging Face <c>vocab.txt</c> (one token per line, id = line number).</summary>
    public static BertTextTokenizer Load(string vocabPath, int maxSequenceLength = DefaultMaxSequenceLength, int maxBatchSize = DefaultMaxBatchSize)
    {
        if (!File.Exists(vocabPath))
        {
            throw new KenException($"vocabulary file '{vocabPath}' does not exist; pass the backbone's vocab.txt");
        }

        using var reader = File.OpenText(vocabPath);
        return Load(reader, maxSequenceLength, maxBatchSize);
    }

    /// <inheritdoc cref="Load(string, int, int)"/>
    public static BertTextTokenizer Load(TextReader vocab, int maxSequenceLength = DefaultMaxSequenceLength, int maxBatchSize = DefaultMaxBatchSize)
    {
        ArgumentNullException.ThrowIfNull(vocab);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSequenceLength, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        EnsureUnicodeNormalization();

        var tokens = new List<string>();
        var ids = new Dictionary<string, long>(StringComparer.Ordinal);
        while (vocab.ReadLine() is { } line)
        {
            ids.TryAdd(line, tokens.Count);
            tokens.Add(line);
        }

        var clsId = RequireToken(ids, ClsToken);
        var sepId = RequireToken(ids, SepToken);
        var padId = RequireToken(ids, PadToken);
        RequireToken(ids, UnknownToken);

        var lowercase = !VocabularyCasing.IsCased(tokens);
        var inner = new BertTokenizer();
        using (var replay = new StringReader(string.Join('\n', tokens)))
        {
            inner.LoadVocabulary(replay, lowercase, UnknownToken, ClsToken, SepToken, PadToken, NormalizationForm.FormD);
        }

        return new BertTextTokenizer(inner, lowercase, tokens.Count, clsId, sepId, padId, maxSequenceLength, maxBatchSize);
    }

    /// <summary>A reusable output buffer sized for this tokenizer.</summary>
    public TokenizedBatch CreateBatch() => new(MaxSequenceLength);

    /// <summary>
    /// Tokenizes <paramref name="texts"/> into <paramref name="destination"/>, padding every row to the
    /// longest text. Throws <see cref="KenException"/> for an empty batch, a batch over the limit or an empty
    /// text, before any text is encoded.
    /// </summary>
    public void Tokenize(IReadOnlyList<string> texts, TokenizedBatch destination)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(destination);
        if (destination.MaxSequenceLength != MaxSequenceLength)
        {
            throw new ArgumentException($"the batch was made for {destination.MaxSequenceLength} tokens per text, this tokenizer produces {MaxSequenceLength}; use CreateBatch()", nameof(destination));
        }

        if (texts.Count > MaxBatchSize)
        {
            throw new KenException(string.Create(CultureInfo.InvariantCulture,
                $"the request has {texts.Count} texts but at most {MaxBatchSize} are accepted per request; split it into smaller requests"));
        }

        ValidateTexts(texts);

        destination.BeginBatch(texts.Count);
        var mask = destination.StagingMask;
        for (var i = 0; i < texts.Count; i++)
        {
            var row = destination.StagingRow(i);
            var count = Encode(texts[i], row, mask, out var truncated);
            destination.SetCount(i, count, truncated);
        }

        destination.Complete(_padId);
    }

    /// <summary>Encodes one text into <paramref name="row"/> (<see cref="MaxSequenceLength"/> + 1 long); returns its token count.</summary>
    private int Encode(string text, Span<long> row, Span<long> mask, out bool truncated)
    {
        var count = _inner.Encode(text, row, mask);

        // FastBertTokenizer truncates at token level (mid-word, like Hugging Face) and ends the row with
        // [SEP]. A count that reaches the spare slot means the text did not fit: cut one more token so the
        // row holds MaxSequenceLength tokens and still ends with [SEP].
        truncated = count > MaxSequenceLength;
        if (truncated)
        {
            count = MaxSequenceLength;
            row[count - 1] = SepId;
        }

        return count;
    }

    /// <inheritdoc/>
    /// <remarks>Unlike <see cref="Tokenize(IReadOnlyList{string}, TokenizedBatch)"/> there is no batch limit: the scheduler splits requests into batches.</remarks>
    public IReadOnlyList<TokenizedText> Tokenize(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ValidateTexts(texts);
        var result = new TokenizedText[texts.Count];
        var row = new long[MaxSequenceLength + 1];
        var mask = new long[MaxSequenceLength + 1];
        for (var i = 0; i < result.Length; i++)
        {
            var count = Encode(texts[i], row, mask, out var truncated);
            result[i] = new TokenizedText(row.AsSpan(0, count).ToArray(), truncated);
        }

        return result;
    }

    private static void ValidateTexts(IReadOnlyList<string> texts)
    {
        if (texts.Count == 0)
        {
            throw new KenException("the request has no texts; send at least one");
        }

        for (var i = 0; i < texts.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(texts[i]))
            {
                throw new KenException(string.Create(CultureInfo.InvariantCulture,
                    $"text {i} is empty; every text needs at least one non-whitespace character (texts are numbered from 0)"));
            }
        }
    }

    private static long RequireToken(Dictionary<string, long> ids, string token) =>
        ids.TryGetValue(token, out var id)
            ? id
            : throw new KenException($"the vocabulary has no {token} token; pass a BERT WordPiece vocab.txt");

    // With InvariantGlobalization (or without ICU) string.Normalize silently returns its input, so accents
    // are never stripped and every accented word becomes [UNK]. Fail at load instead of serving wrong tokens.
    private static void EnsureUnicodeNormalization()
    {
        if ("\u00e9".Normalize(NormalizationForm.FormD).Length != 2)
        {
            throw new InvalidOperationException(
                "Unicode normalization is unavailable (InvariantGlobalization is on or ICU is missing), so accented text " +
                "would tokenize to [UNK]; set InvariantGlobalization=false and install libicu");
        }
    }
}
