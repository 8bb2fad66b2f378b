namespace Ken.Runtime.Tokenization;

/// <summary>
/// The model inputs for one batch of texts, as flat <c>[batch, sequence]</c> row-major buffers padded to
/// the longest text of the batch. An instance is reused from batch to batch so that steady-state
/// tokenization allocates nothing; it therefore belongs to one caller at a time.
/// </summary>
public sealed class TokenizedBatch
{
    private readonly int _maxSequenceLength;

    // Every text is first encoded into a row one token longer than the model allows: a text that fills
    // the extra slot was truncated. The final sequence length is only known once all texts are encoded.
    private long[] _staging = [];
    private long[] _stagingMask;
    private long[] _inputIds = [];
    private long[] _attentionMask = [];
    private long[] _tokenTypeIds = [];
    private int[] _tokenCounts = [];
    private bool[] _truncated = [];

    public TokenizedBatch(int maxSequenceLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSequenceLength, 2);
        _maxSequenceLength = maxSequenceLength;
        _stagingMask = new long[maxSequenceLength + 1];
    }

    /// <summary>The number of texts in the batch.</summary>
    public int BatchSize { get; private set; }

    /// <summary>The padded length of every row: the longest text's token count, [CLS] and [SEP] included.</summary>
    public int SequenceLength { get; private set; }

    /// <summary>The largest sequence length this batch can hold (the model's maximum).</summary>
    public int MaxSequenceLength => _maxSequenceLength;

    /// <summary>Token ids, <c>[BatchSize, SequenceLength]</c>; padding positions hold the [PAD] id.</summary>
    public ReadOnlyMemory<long> InputIds => _inputIds.AsMemory(0, BatchSize * SequenceLength);

    /// <summary>1 for real tokens, 0 for padding, <c>[BatchSize, SequenceLength]</c>.</summary>
    public ReadOnlyMemory<long> AttentionMask => _attentionMask.AsMemory(0, BatchSize * SequenceLength);

    /// <summary>All zeros (single-segment inputs), <c>[BatchSize, SequenceLength]</c>.</summary>
    public ReadOnlyMemory<long> TokenTypeIds => _tokenTypeIds.AsMemory(0, BatchSize * SequenceLength);

    /// <summary>Per text, the number of real tokens including [CLS] and [SEP].</summary>
    public ReadOnlySpan<int> TokenCounts => _tokenCounts.AsSpan(0, BatchSize);

    /// <summary>Per text, whether it was cut to <see cref="MaxSequenceLength"/> tokens.</summary>
    public ReadOnlySpan<bool> Truncated => _truncated.AsSpan(0, BatchSize);

    /// <summary>The shape ONNX Runtime expects for the three input tensors.</summary>
    public long[] Shape => [BatchSize, SequenceLength];

    /// <summary>The number of real (non-padding) tokens over the whole batch.</summary>
    public int TotalTokens
    {
        get
        {
            var total = 0;
            foreach (var count in TokenCounts)
            {
                total += count;
            }

            return total;
        }
    }

    /// <summary>
    /// Fills the batch with <paramref name="texts"/> tokenized earlier, each row padded with
    /// <paramref name="padId"/> to the longest of them.
    /// </summary>
    public void Load(IReadOnlyList<TokenizedText> texts, long padId)
    {
        ArgumentNullException.ThrowIfNull(texts);
        BeginBatch(texts.Count);
        for (var i = 0; i < texts.Count; i++)
        {
            var text = texts[i];
            if (text.Length > _maxSequenceLength)
            {
                throw new ArgumentException($"text {i} has {text.Length} tokens but this batch holds at most {_maxSequenceLength}; tokenize with the backend's tokenizer", nameof(texts));
            }

            text.Ids.Span.CopyTo(StagingRow(i));
            SetCount(i, text.Length, text.Truncated);
        }

        Complete(padId);
    }

    internal int StagingStride => _maxSequenceLength + 1;

    internal Span<long> StagingMask => _stagingMask;

    internal void BeginBatch(int batchSize)
    {
        EnsureCapacity(ref _staging, batchSize * StagingStride);
        EnsureCapacity(ref _tokenCounts, batchSize);
        EnsureCapacity(ref _truncated, batchSize);
        BatchSize = batchSize;
        SequenceLength = 0;
    }

    internal Span<long> StagingRow(int index) => _staging.AsSpan(index * StagingStride, StagingStride);

    internal void SetCount(int index, int tokenCount, bool truncated)
    {
        _tokenCounts[index] = tokenCount;
        _truncated[index] = truncated;
    }

    /// <summary>Copies the staged rows into the padded output buffers once the longest row is known.</summary>
    internal void Complete(long padId)
    {
        var sequenceLength = 0;
        foreach (var count in TokenCounts)
        {
            sequenceLength = Math.Max(sequenceLength, count);
        }

        var total = BatchSize * sequenceLength;
        EnsureCapacity(ref _inputIds, total);
        EnsureCapacity(ref _attentionMask, total);
        if (_tokenTypeIds.Length < total)
        {
            // Nothing ever writes token types, so a freshly allocated (zeroed) array stays valid.
            _tokenTypeIds = new long[GrowTo(total)];
        }

        SequenceLength = sequenceLength;
        for (var i = 0; i < BatchSize; i++)
        {
            var count = _tokenCounts[i];
            var ids = _inputIds.AsSpan(i * sequenceLength, sequenceLength);
            var mask = _attentionMask.AsSpan(i * sequenceLength, sequenceLength);
            _staging.AsSpan(i * StagingStride, count).CopyTo(ids);
            ids[count..].Fill(padId);
            mask[..count].Fill(1);
            mask[count..].Clear();
        }
    }

    private static void EnsureCapacity<T>(ref T[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new T[GrowTo(length)];
        }
    }

    // Round up so that batches of slowly growing size do not reallocate every time.
    private static int GrowTo(int length) => length <= 64 ? 64 : (int)Math.Min(Array.MaxLength, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)length));
}
