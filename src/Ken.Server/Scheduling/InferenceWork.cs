using System.Diagnostics;
using Ken.Runtime.Backends;

using Ken.Server.Registry;

namespace Ken.Server.Scheduling;

/// <summary>One admitted request waiting in its task's queue.</summary>
internal sealed class InferenceWork
{
    public InferenceWork(TaskEntry entry, IReadOnlyList<string> texts, DateTime? deadlineUtc, ActivityContext parent, CancellationToken cancellationToken)
    {
        Entry = entry;
        Texts = texts;
        DeadlineUtc = deadlineUtc;
        CancellationToken = cancellationToken;
        Parent = parent;
        EnqueuedTimestamp = Stopwatch.GetTimestamp();
    }

    public TaskEntry Entry { get; }

    public IReadOnlyList<string> Texts { get; }

    public DateTime? DeadlineUtc { get; }

    public CancellationToken CancellationToken { get; }

    /// <summary>The request span, parent of the queue, swap and inference spans.</summary>
    public ActivityContext Parent { get; }

    public long EnqueuedTimestamp { get; }

    public Activity? QueueActivity { get; set; }

    // Continuations run on the thread pool, never on a slot worker, so replies never delay the next batch.
    public TaskCompletionSource<TaskOutput> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool IsExpired => CancellationToken.IsCancellationRequested || (DeadlineUtc is { } deadline && DateTime.UtcNow >= deadline);
}
