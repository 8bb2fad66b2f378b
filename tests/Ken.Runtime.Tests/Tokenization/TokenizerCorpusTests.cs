using System.Diagnostics;
using System.Globalization;
using System.Text;
using Ken.Format;
using Ken.Format.Checkpoints;
using Ken.Runtime.Tokenization;

namespace Ken.Runtime.Tests.Tokenization;

/// <summary>
/// The tokenizer (minilm's real vocabulary) against 1,500 seeded hostile texts: control characters,
/// lone surrogates, combining marks, zero-width and right-to-left characters, NULs, emoji, long runs of
/// one character and texts far past the sequence limit. Every text tokenizes to [CLS] … [SEP] within the
/// limit, or is refused with a <see cref="KenException"/> (blank texts); none takes a second and none
/// allocates beyond a small multiple of its size.
/// </summary>
public sealed class TokenizerCorpusTests
{
    private const int Count = 1500;
    private const int AllocationFactor = 16;
    private const long AllocationConstant = 256 * 1024;

    private static readonly string[] Seeds =
    [
        "The quick brown fox jumps over the lazy dog.",
        "Café au lait, s'il vous plaît!",
        "東京は日本の首都です。",
        "unaffable un-aff-able ##able [CLS] [SEP] [PAD] [MASK]",
    ];

    private static readonly string[] Hostile =
    [
        "\0", "\u0001", "\u001b[31m", "\t", "\r\n", "\u00a0", "\u200b", "\u200d", "\u202e", "\ufeff", "\ufffd", "\uffff",
        "\ud800", "\udfff", "\ud83d\ude00", "\u0301\u0301\u0301", "\u0e01\u0e34\u0e48", "ﷺ", "𝕂", "İ", "ß", "ǅ", "\u3000", "##", "[UNK]",
    ];

    [Fact]
    public void Hostile_texts_tokenize_within_the_limit_or_are_refused_with_a_KenException()
    {
        var minilm = DefaultModels.Get("minilm");
        var tokenizer = BertTextTokenizer.Load(minilm.VocabPath);
        _ = tokenizer.Tokenize([Seeds[0]]);

        int accepted = 0, rejected = 0, truncated = 0;
        double maxMs = 0;
        long maxAllocated = 0;
        for (var seed = 0; seed < Count; seed++)
        {
            var text = Mutate(seed);
            var before = GC.GetAllocatedBytesForCurrentThread();
            var start = Stopwatch.GetTimestamp();
            try
            {
                var tokens = Assert.Single(tokenizer.Tokenize([text]));
                var ids = tokens.Ids.Span;
                Assert.InRange(ids.Length, 2, tokenizer.MaxSequenceLength);
                Assert.Equal(tokenizer.ClsId, ids[0]);
                Assert.Equal(tokenizer.SepId, ids[^1]);
                foreach (var id in ids)
                {
                    Assert.InRange(id, 0, tokenizer.VocabularySize - 1);
                }

                truncated += tokens.Truncated ? 1 : 0;
                accepted++;
            }
            catch (KenException ex)
            {
                Assert.False(string.IsNullOrWhiteSpace(ex.Message));
                rejected++;
            }
            catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
            {
                Assert.Fail($"seed {seed} threw {ex.GetType().Name}, not KenException: {ex}");
            }

            maxMs = Math.Max(maxMs, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            maxAllocated = Math.Max(maxAllocated, allocated);
            Assert.True(allocated <= (AllocationFactor * sizeof(char) * (long)text.Length) + AllocationConstant, $"seed {seed}: {allocated} bytes allocated for {text.Length} characters");
        }

        var line = string.Create(CultureInfo.InvariantCulture,
            $"corpus tokenizer: {Count} texts, {accepted} tokenized ({truncated} truncated), {rejected} rejected with KenException, max {maxMs:F1} ms per text, max {maxAllocated} bytes allocated");
        TestContext.Current.TestOutputHelper?.WriteLine(line);
        Console.WriteLine(line);
        Assert.True(truncated > 0 && rejected > 0 && accepted > Count / 2, line);
        Assert.True(maxMs < 1000, line);
    }

    /// <summary>Seeded: a real sentence with hostile pieces inserted, repeated past the limit, or reduced to whitespace.</summary>
    private static string Mutate(int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder(Seeds[random.Next(Seeds.Length)]);
        switch (seed % 5)
        {
            case 0:
                // Whitespace and invisible characters only: blank texts are refused, others must not break anything.
                return new[] { " ", "\t\n", "\u200b", "\u3000\u00a0", "\u0000 " }[random.Next(5)];
            case 1:
                // One character repeated far past the 512-token limit.
                return new string(Hostile[random.Next(Hostile.Length)][0], random.Next(1, 200_000)) + "x";
            default:
                for (int i = 0, n = random.Next(1, 40); i < n; i++)
                {
                    text.Insert(random.Next(text.Length + 1), Hostile[random.Next(Hostile.Length)]);
                }

                var repeat = seed % 5 == 4 ? random.Next(1, 400) : 1;
                return string.Concat(Enumerable.Repeat(text.ToString(), repeat));
        }
    }
}
