using Ken.Format;
using Ken.Runtime.Tokenization;

namespace Ken.Runtime.Tests.Tokenization;

/// <summary>Texts tokenized one by one at admission, then padded on a slot, give the batch the one-shot path gives.</summary>
public class AdmissionTokenizationTests
{
    private static readonly string[] Vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "a", "b", "c"];

    private static BertTextTokenizer Load(int maxSequenceLength = 512, int maxBatchSize = 2)
    {
        using var reader = new StringReader(string.Join('\n', Vocab) + "\n");
        return BertTextTokenizer.Load(reader, maxSequenceLength, maxBatchSize);
    }

    [Fact]
    public void Tokenized_texts_loaded_into_a_batch_equal_tokenizing_the_batch_at_once()
    {
        var tokenizer = Load(maxSequenceLength: 5);
        string[] texts = ["hello", "a b c d e f", "world world"];
        var once = tokenizer.CreateBatch();
        Load(maxSequenceLength: 5, maxBatchSize: 8).Tokenize(texts, once);

        var tokens = tokenizer.Tokenize(texts);
        var loaded = tokenizer.CreateBatch();
        loaded.Load(tokens, tokenizer.PadId);

        Assert.Equal([3, 5, 4], tokens.Select(t => t.Length));
        Assert.Equal([false, true, false], tokens.Select(t => t.Truncated));
        Assert.Equal(once.SequenceLength, loaded.SequenceLength);
        Assert.Equal(once.InputIds.ToArray(), loaded.InputIds.ToArray());
        Assert.Equal(once.AttentionMask.ToArray(), loaded.AttentionMask.ToArray());
        Assert.Equal(once.Truncated.ToArray(), loaded.Truncated.ToArray());
    }

    [Fact]
    public void A_request_may_hold_more_texts_than_one_batch_but_no_empty_text()
    {
        var tokenizer = Load(maxBatchSize: 2);
        Assert.Equal(3, tokenizer.Tokenize(["a", "b", "c"]).Count);
        Assert.Throws<KenException>(() => tokenizer.Tokenize(["a", "  "]));
        Assert.Throws<KenException>(() => tokenizer.Tokenize([]));
    }
}
