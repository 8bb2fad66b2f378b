using System.Diagnostics;
using Ken.Runtime.Tokenization;
using Ken.Server.Registry;

namespace Ken.Server.Scheduling;

/// <summary>One admitted request, tokenized, waiting in its task's queue.</summary>
internal sealed class InferenceWork
{
    /// <param name="enqueuedTimestamp">When it was admitted (<see cref="Stopwatch.GetTimestamp"/>); now when not given.</param>
    public InferenceWork(TaskEntry entry, IReadOnlyList<TokenizedText> inputs, DateTime? deadlineUtc, ActivityContext parent, CancellationToken cancellationToken, long? enqueuedTimestamp = null)
    {
        Entry = entry;
        Inputs = inputs;
        DeadlineUtc = deadlineUtc;
        CancellationToken = cancellationToken;
        Parent = parent;
        EnqueuedTimestamp = enqueuedTimestamp ?? Stopwatch.GetTimestamp();
        var longest = 0;
        foreach (var input in inputs)
        {
            longest = Math.Max(longest, input.Length);
        }

        LongestTokens = longest;
    }

    public TaskEntry Entry { get; }

    public IReadOnlyList<TokenizedText> Inputs { get; }

    public int Texts => Inputs.Count;

    /// <summary>Tokens of the request's longest text: what a batch holding it pads every row to, at least.</summary>
    public int LongestTokens { get; }

    public DateTime? DeadlineUtc { get; }

    public CancellationToken CancellationToken { get; }

    /// <summary>The request span, parent of the queue, swap and inference spans.</summary>
    public ActivityContext Parent { get; }

    public long EnqueuedTimestamp { get; }

    public Activity? QueueActivity { get; set; }

    /// <summary>Time from admission to leaving the queue for a batch; set when it leaves. Guarded by the queues' gate.</summary>
    public TimeSpan QueueWait { get; set; }

    // Continuations run on the thread pool, never on a slot worker, so replies never delay the next batch.
    public TaskCompletionSource<ServedOutput> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool IsExpired => CancellationToken.IsCancellationRequested || (DeadlineUtc is { } deadline && DateTime.UtcNow >= deadline);
}
