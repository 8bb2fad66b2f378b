using System.Diagnostics;
using Ken.Runtime.Tokenization;
using Ken.Server.Telemetry;

namespace Ken.Server.Scheduling;

/// <summary>
/// Turns a task's queue into batches: waits up to the batching window (from the oldest request) for the
/// batch to fill, then takes whole requests in arrival order while they fit the text and token budget,
/// dropping requests whose deadline passed or whose caller gave up. A batch never splits a request; one
/// larger than the budget is taken alone and <see cref="Chunks"/> cuts it into runs that fit. A request that
/// waited longer than <c>--max-queue-wait-ms</c> while more work still waits behind the batch is refused
/// (RESOURCE_EXHAUSTED) instead of run: admission's estimate was low, and serving it late would make every
/// request behind it late too. A request with nothing behind it is served however long it waited.
/// </summary>
internal sealed class BatchCollector
{
    private readonly WorkQueues _queues;
    private readonly KenMetrics _metrics;
    private readonly long _windowTicks;

    public BatchCollector(WorkQueues queues, BatchingOptions options, KenMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(options);
        _queues = queues;
        _metrics = metrics;
        Options = options;
        _windowTicks = (long)(options.Window.TotalSeconds * Stopwatch.Frequency);
    }

    public BatchingOptions Options { get; }

    /// <summary>
    /// Waits for the batching window, then takes the next batch of live requests from <paramref name="queue"/>;
    /// tells the queues that <paramref name="executor"/>, when given, runs it.
    /// </summary>
    public List<InferenceWork> Collect(TaskQueue queue, int? executor = null)
    {
        var batch = new List<InferenceWork>();
        lock (_queues.Gate)
        {
            while (queue.Items.Count > 0 && !IsFull(queue) && !_queues.Stopping)
            {
                var remaining = queue.Items.Peek().EnqueuedTimestamp + _windowTicks - Stopwatch.GetTimestamp();
                if (remaining <= 0)
                {
                    break;
                }

                // Every enqueue pulses the gate, so a filling batch wakes this wait before the window ends.
                Monitor.Wait(_queues.Gate, TimeSpan.FromSeconds((double)remaining / Stopwatch.Frequency));
            }

            var budget = NewBudget();
            while (queue.Items.Count > 0)
            {
                var next = queue.Items.Peek();
                var expired = next.IsExpired;
                if (!expired && !budget.TryAdd(next.Texts, next.LongestTokens))
                {
                    break;
                }

                _queues.Dequeue(queue);
                next.QueueActivity?.Stop();
                next.QueueWait = Stopwatch.GetElapsedTime(next.EnqueuedTimestamp);
                if (expired)
                {
                    _metrics.QueueWait(queue.Entry.Name, next.QueueWait.TotalSeconds);
                    // The caller already has (or will get) DEADLINE_EXCEEDED or CANCELLED; running it would waste the slot.
                    next.Completion.TrySetCanceled(next.CancellationToken.IsCancellationRequested ? next.CancellationToken : CancellationToken.None);
                    continue;
                }

                batch.Add(next);
            }

            if (_queues.Depth > 0)
            {
                RefuseLate(batch);
            }

            foreach (var work in batch)
            {
                _metrics.QueueWait(queue.Entry.Name, work.QueueWait.TotalSeconds);
            }

            if (executor is { } index)
            {
                _queues.RunBatch(index, Texts(batch));
            }
        }

        return batch;
    }

    /// <summary>
    /// Cuts <paramref name="texts"/> (a batch's texts in order) into consecutive runs of at most
    /// <paramref name="maxRunTexts"/> texts that each fit the token budget (a text longer than the budget runs alone).
    /// </summary>
    public IEnumerable<ArraySegment<TokenizedText>> Chunks(TokenizedText[] texts, int maxRunTexts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var start = 0;
        while (start < texts.Length)
        {
            var budget = new BatchBudget(Math.Min(Options.MaxTexts, maxRunTexts), Options.MaxTokens);
            var end = start;
            while (end < texts.Length && budget.TryAdd(1, texts[end].Length))
            {
                end++;
            }

            yield return new ArraySegment<TokenizedText>(texts, start, end - start);
            start = end;
        }
    }

    private static int Texts(List<InferenceWork> batch)
    {
        var texts = 0;
        foreach (var work in batch)
        {
            texts += work.Texts;
        }

        return texts;
    }

    /// <summary>Fails and removes the requests of <paramref name="batch"/> that waited past the limit. Caller holds the gate.</summary>
    private void RefuseLate(List<InferenceWork> batch)
    {
        var limit = _queues.MaxWait;
        var kept = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            var work = batch[i];
            if (work.QueueWait > limit)
            {
                _metrics.Shed(ShedReason.Waited);
                work.Completion.TrySetException(_queues.Late(work, work.QueueWait));
            }
            else
            {
                batch[kept++] = work;
            }
        }

        batch.RemoveRange(kept, batch.Count - kept);
    }

    private BatchBudget NewBudget() => new(Options.MaxTexts, Options.MaxTokens);

    /// <summary>Whether the queue already holds a full batch, so waiting longer cannot make it larger.</summary>
    private bool IsFull(TaskQueue queue)
    {
        var budget = NewBudget();
        foreach (var work in queue.Items)
        {
            if (!budget.TryAdd(work.Texts, work.LongestTokens))
            {
                return true;
            }
        }

        return budget.IsFull;
    }
}
