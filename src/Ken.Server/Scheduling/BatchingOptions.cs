namespace Ken.Server.Scheduling;

/// <summary>How requests of one task are gathered into a batch (bound from <c>--max-batch</c>, <c>--max-batch-tokens</c>, <c>--batch-window-ms</c>).</summary>
public sealed record BatchingOptions
{
    public const int DefaultMaxTokens = 16_384;

    /// <summary>Most texts in one batch.</summary>
    public int MaxTexts { get; init; } = 32;

    /// <summary>
    /// Most tokens in one batch, padding included: texts × the longest text's tokens (as
    /// text-embeddings-inference counts <c>max-batch-tokens</c>), so one long text does not pad many short ones.
    /// </summary>
    public int MaxTokens { get; init; } = DefaultMaxTokens;

    /// <summary>How long a slot waits, from its task's oldest request, for the batch to fill.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromMilliseconds(2);
}
