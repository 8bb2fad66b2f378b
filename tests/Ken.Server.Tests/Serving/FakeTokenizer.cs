using System.Collections.Concurrent;
using Ken.Format;
using Ken.Runtime.Tokenization;

namespace Ken.Server.Tests.Serving;

/// <summary>
/// One token per whitespace-separated word plus [CLS] and [SEP], so tests control token counts; every
/// token of a text carries the text's id, so <see cref="FakeBackend"/> can tell which text it runs.
/// </summary>
public sealed class FakeTokenizer : ITextTokenizer
{
    private const long Cls = -1;
    private const long Sep = -2;

    private readonly ConcurrentDictionary<string, long> _ids = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, string> _texts = new();
    private long _next;

    public int MaxSequenceLength => 512;

    public IReadOnlyList<TokenizedText> Tokenize(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count == 0)
        {
            throw new KenException("the request has no texts; send at least one");
        }

        var result = new TokenizedText[texts.Count];
        for (var i = 0; i < texts.Count; i++)
        {
            var text = texts[i];
            if (string.IsNullOrWhiteSpace(text))
            {
                throw new KenException($"text {i} is empty");
            }

            var id = _ids.GetOrAdd(text, _ => Interlocked.Increment(ref _next));
            _texts[id] = text;
            var words = Math.Min(text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length, MaxSequenceLength - 2);
            var ids = new long[words + 2];
            Array.Fill(ids, id);
            ids[0] = Cls;
            ids[^1] = Sep;
            result[i] = new TokenizedText(ids, truncated: false);
        }

        return result;
    }

    /// <summary>The text <paramref name="tokens"/> came from.</summary>
    public string TextOf(TokenizedText tokens) => _texts[tokens.Ids.Span[1]];
}
