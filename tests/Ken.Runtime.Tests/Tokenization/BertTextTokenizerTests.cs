using System.Runtime.InteropServices;
using Ken.Format;
using Ken.Runtime.Tokenization;

namespace Ken.Runtime.Tests.Tokenization;

public class BertTextTokenizerTests
{
    private const long Pad = 0;
    private const long Unk = 1;
    private const long Cls = 2;
    private const long Sep = 3;
    private const long Hello = 5;
    private const long World = 6;
    private const long Cafe = 7;
    private const long Un = 8;
    private const long Aff = 9;
    private const long Able = 10;
    private const long A = 11;
    private const long B = 12;
    private const long C = 13;
    private const long D = 14;

    // Ids are line numbers. The double-struck R (category Lu, no lowercase) sits in real uncased
    // vocabularies too and must not make the vocabulary look cased.
    private static readonly string[] UncasedVocab =
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "cafe", "un", "##aff", "##able", "a", "b", "c", "d", "!", "\u211d", "[unused0]"];

    private static BertTextTokenizer Load(string[] vocab, int maxSequenceLength = 512, int maxBatchSize = 256)
    {
        using var reader = new StringReader(string.Join('\n', vocab) + "\n");
        return BertTextTokenizer.Load(reader, maxSequenceLength, maxBatchSize);
    }

    private static (BertTextTokenizer Tokenizer, TokenizedBatch Batch) Tokenize(BertTextTokenizer tokenizer, params string[] texts)
    {
        var batch = tokenizer.CreateBatch();
        tokenizer.Tokenize(texts, batch);
        return (tokenizer, batch);
    }

    private static long[] Row(ReadOnlyMemory<long> values, TokenizedBatch batch, int index) =>
        values.Span.Slice(index * batch.SequenceLength, batch.SequenceLength).ToArray();

    [Fact]
    public void Uncased_vocabulary_lowercases_input_and_wraps_it_in_cls_and_sep()
    {
        var tokenizer = Load(UncasedVocab);
        Assert.True(tokenizer.LowercasesInput);
        Assert.Equal(UncasedVocab.Length, tokenizer.VocabularySize);

        var (_, batch) = Tokenize(tokenizer, "Hello WORLD!");

        Assert.Equal(new long[] { Cls, Hello, World, 15, Sep }, Row(batch.InputIds, batch, 0));
        Assert.Equal(5, batch.TokenCounts[0]);
        Assert.False(batch.Truncated[0]);
    }

    [Fact]
    public void Uncased_vocabulary_strips_accents_like_hugging_face_do_lower_case()
    {
        var (_, batch) = Tokenize(Load(UncasedVocab), "Caf\u00e9 CAF\u00c9");

        Assert.Equal(new long[] { Cls, Cafe, Cafe, Sep }, Row(batch.InputIds, batch, 0));
    }

    [Fact]
    public void Cased_vocabulary_keeps_case()
    {
        string[] cased = [.. UncasedVocab, "Hello"];
        var tokenizer = Load(cased);
        Assert.False(tokenizer.LowercasesInput);

        var (_, batch) = Tokenize(tokenizer, "Hello hello HELLO");

        Assert.Equal(new long[] { Cls, cased.Length - 1, Hello, Unk, Sep }, Row(batch.InputIds, batch, 0));
    }

    [Fact]
    public void Unknown_words_become_unk()
    {
        var (_, batch) = Tokenize(Load(UncasedVocab), "hello zzz");

        Assert.Equal(new long[] { Cls, Hello, Unk, Sep }, Row(batch.InputIds, batch, 0));
    }

    [Fact]
    public void Long_text_is_cut_mid_word_to_the_maximum_and_still_ends_with_sep()
    {
        var tokenizer = Load(UncasedVocab, maxSequenceLength: 4);

        var (_, batch) = Tokenize(tokenizer, "unaffable", "a b c d", "a b", "a");

        Assert.Equal(4, batch.SequenceLength);
        Assert.Equal(new long[] { Cls, Un, Aff, Sep }, Row(batch.InputIds, batch, 0));
        Assert.Equal(new long[] { Cls, A, B, Sep }, Row(batch.InputIds, batch, 1));
        Assert.Equal(new long[] { Cls, A, B, Sep }, Row(batch.InputIds, batch, 2));
        Assert.Equal(new long[] { Cls, A, Sep, Pad }, Row(batch.InputIds, batch, 3));
        Assert.Equal(new[] { true, true, false, false }, batch.Truncated.ToArray());
        Assert.Equal(new[] { 4, 4, 4, 3 }, batch.TokenCounts.ToArray());
    }

    [Fact]
    public void Text_that_fills_exactly_the_maximum_is_not_truncated()
    {
        var (_, batch) = Tokenize(Load(UncasedVocab, maxSequenceLength: 5), "unaffable");

        Assert.Equal(new long[] { Cls, Un, Aff, Able, Sep }, Row(batch.InputIds, batch, 0));
        Assert.False(batch.Truncated[0]);
    }

    [Fact]
    public void Batch_is_padded_to_its_longest_text_with_mask_and_zero_token_types()
    {
        var (_, batch) = Tokenize(Load(UncasedVocab), "hello", "a b c d");

        Assert.Equal(2, batch.BatchSize);
        Assert.Equal(6, batch.SequenceLength);
        Assert.Equal(new long[] { 2, 6 }, batch.Shape);
        Assert.Equal(12, batch.InputIds.Length);
        Assert.Equal(new long[] { Cls, Hello, Sep, Pad, Pad, Pad }, Row(batch.InputIds, batch, 0));
        Assert.Equal(new long[] { Cls, A, B, C, D, Sep }, Row(batch.InputIds, batch, 1));
        Assert.Equal(new long[] { 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1 }, batch.AttentionMask.ToArray());
        Assert.Equal(new long[12], batch.TokenTypeIds.ToArray());
        Assert.Equal(new[] { 3, 6 }, batch.TokenCounts.ToArray());
        Assert.Equal(9, batch.TotalTokens);
    }

    [Fact]
    public void Reused_batch_holds_only_the_latest_texts_and_keeps_its_buffers()
    {
        var tokenizer = Load(UncasedVocab);
        var batch = tokenizer.CreateBatch();
        tokenizer.Tokenize(["a b c d", "a b c d", "hello"], batch);
        Assert.True(MemoryMarshal.TryGetArray(batch.InputIds, out var first));

        tokenizer.Tokenize(["hello", "a"], batch);

        Assert.Equal(2, batch.BatchSize);
        Assert.Equal(3, batch.SequenceLength);
        Assert.Equal(new long[] { Cls, Hello, Sep, Cls, A, Sep }, batch.InputIds.ToArray());
        Assert.Equal(new long[] { 1, 1, 1, 1, 1, 1 }, batch.AttentionMask.ToArray());
        Assert.Equal(new long[6], batch.TokenTypeIds.ToArray());
        Assert.True(MemoryMarshal.TryGetArray(batch.InputIds, out var second));
        Assert.Same(first.Array, second.Array);
    }

    [Fact]
    public void One_tokenizer_serves_parallel_callers_each_with_its_own_batch()
    {
        var tokenizer = Load(UncasedVocab, maxSequenceLength: 8);
        string[] texts = ["hello world", "a b c d a b c d", "unaffable", "Caf\u00e9 !", "d c b a"];
        var expected = tokenizer.CreateBatch();
        tokenizer.Tokenize(texts, expected);
        var expectedIds = expected.InputIds.ToArray();

        Parallel.For(0, 200, _ =>
        {
            var batch = tokenizer.CreateBatch();
            for (var round = 0; round < 20; round++)
            {
                tokenizer.Tokenize(texts, batch);
                Assert.Equal(expectedIds, batch.InputIds.ToArray());
            }
        });
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \t")]
    public void Empty_text_is_rejected_with_its_index(string empty)
    {
        var tokenizer = Load(UncasedVocab);

        var error = Assert.Throws<KenException>(() => tokenizer.Tokenize(["hello", "world", "a", empty], tokenizer.CreateBatch()));

        Assert.StartsWith("text 3 is empty;", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Batch_over_the_limit_is_rejected()
    {
        var tokenizer = Load(UncasedVocab, maxBatchSize: 2);

        var error = Assert.Throws<KenException>(() => tokenizer.Tokenize(["a", "b", "c"], tokenizer.CreateBatch()));

        Assert.Contains("3 texts", error.Message, StringComparison.Ordinal);
        Assert.Contains("at most 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Request_without_texts_is_rejected()
    {
        var tokenizer = Load(UncasedVocab);

        Assert.Throws<KenException>(() => tokenizer.Tokenize([], tokenizer.CreateBatch()));
    }

    [Fact]
    public void Vocabulary_without_special_tokens_is_rejected()
    {
        var error = Assert.Throws<KenException>(() => Load(["[PAD]", "[UNK]", "[SEP]", "hello"]));

        Assert.Contains("[CLS]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_vocabulary_file_is_a_user_error()
    {
        Assert.Throws<KenException>(() => BertTextTokenizer.Load(Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"), "vocab.txt")));
    }

    [Fact]
    public void Vocabulary_file_loads_from_disk()
    {
        var path = Path.Combine(Path.GetTempPath(), $"ken-vocab-{Guid.NewGuid():N}.txt");
        File.WriteAllLines(path, UncasedVocab);
        try
        {
            var tokenizer = BertTextTokenizer.Load(path);
            var (_, batch) = Tokenize(tokenizer, "hello");
            Assert.Equal(new long[] { Cls, Hello, Sep }, batch.InputIds.ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }
}
