using System.Diagnostics;
using System.Diagnostics.Metrics;
using Ken.Format.Deltas;
using Ken.Runtime.Tokenization;
using Ken.Server.Registry;
using Ken.Server.Scheduling;
using Ken.Server.Telemetry;
using Microsoft.Extensions.DependencyInjection;

namespace Ken.Server.Tests.Scheduling;

/// <summary>The batch collector on hand-made queues, with no batching window.</summary>
public sealed class BatchCollectorTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly TaskEntry _entry = new("t", "t.ken", 0, new KenDeltaMetadata { Task = "t", Kind = TaskKind.Embedding, Pooling = PoolingMode.Cls, Method = "ken", CreatedBy = "tests" }, new TaskGeneration(1), pinned: false);

    [Fact]
    public void A_long_text_and_short_ones_go_in_different_batches_under_a_small_token_budget()
    {
        var (queues, collector) = Create(maxTexts: 32, maxTokens: 64);
        var queue = Enqueue(queues, Texts(3), Texts(40), Texts(3), Texts(3));

        Assert.Equal([[3]], Lengths(collector.Collect(queue)));
        Assert.Equal([[40]], Lengths(collector.Collect(queue)));
        Assert.Equal([[3], [3]], Lengths(collector.Collect(queue)));
        Assert.Equal(0, queues.Depth);
    }

    [Fact]
    public void With_room_in_the_budget_the_same_requests_share_one_batch()
    {
        var (queues, collector) = Create(maxTexts: 32, maxTokens: 16_384);
        var queue = Enqueue(queues, Texts(3), Texts(40), Texts(3), Texts(3));

        Assert.Equal(4, collector.Collect(queue).Count);
    }

    [Fact]
    public void A_request_over_the_budget_runs_alone_in_chunks_that_fit()
    {
        var (queues, collector) = Create(maxTexts: 8, maxTokens: 100);
        var queue = Enqueue(queues, Texts(40, 40, 40, 10, 10), Texts(3));

        var batch = Assert.Single(collector.Collect(queue));
        var texts = batch.Inputs.ToArray();
        var chunks = collector.Chunks(texts, maxRunTexts: 4).Select(c => c.Select(t => t.Length).ToArray()).ToArray();

        Assert.Equal([[40, 40], [40, 10], [10]], chunks);
        Assert.Equal(1, queues.Depth);
    }

    [Fact]
    public void Expired_requests_are_dropped_not_batched()
    {
        var (queues, collector) = Create(maxTexts: 32, maxTokens: 16_384);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var queue = Enqueue(queues, Texts(3));
        lock (queues.Gate)
        {
            queues.Add(new InferenceWork(_entry, Texts(5), null, default, cancelled.Token));
        }

        var batch = collector.Collect(queue);
        Assert.Single(batch);
        Assert.Equal(0, queues.Depth);
    }

    [Fact]
    public async Task A_request_that_waited_past_the_limit_with_work_behind_it_is_refused_as_overloaded_not_run()
    {
        var (queues, collector) = Create(maxTexts: 2, maxTokens: 16_384, maxWait: TimeSpan.FromSeconds(2));
        var longAgo = Stopwatch.GetTimestamp() - (3 * Stopwatch.Frequency);
        var late = new InferenceWork(_entry, Texts(3), null, default, CancellationToken.None, enqueuedTimestamp: longAgo);
        var fresh = new InferenceWork(_entry, Texts(3), null, default, CancellationToken.None);
        var behind = new InferenceWork(_entry, Texts(3), null, default, CancellationToken.None);
        TaskQueue queue;
        lock (queues.Gate)
        {
            queues.Add(late);
            queues.Add(fresh);
            queues.Add(behind);
            queue = queues.All.Single();
        }

        var shed = new List<(long Value, string? Reason)>();
        using var listener = ListenToShed(shed);
        var batch = collector.Collect(queue);

        Assert.Same(fresh, Assert.Single(batch));
        Assert.Equal([(1L, ShedReason.Waited)], shed);
        var refusal = await Assert.ThrowsAsync<ServerOverloadedException>(() => late.Completion.Task);
        Assert.Contains("--max-queue-wait-ms", refusal.Message, StringComparison.Ordinal);
        Assert.NotNull(refusal.RetryAfter);
        Assert.Equal(1, queues.Depth);
    }

    [Fact]
    public void A_request_that_waited_past_the_limit_with_nothing_behind_it_is_still_served()
    {
        var (queues, collector) = Create(maxTexts: 32, maxTokens: 16_384, maxWait: TimeSpan.FromSeconds(2));
        var late = new InferenceWork(_entry, Texts(3), null, default, CancellationToken.None, enqueuedTimestamp: Stopwatch.GetTimestamp() - (3 * Stopwatch.Frequency));
        TaskQueue queue;
        lock (queues.Gate)
        {
            queues.Add(late);
            queue = queues.All.Single();
        }

        Assert.Same(late, Assert.Single(collector.Collect(queue)));
        Assert.False(late.Completion.Task.IsCompleted);
    }

    public void Dispose() => _services.Dispose();

    /// <summary>Records every <c>ken_shed_total</c> increment of this test's meters (not those of other tests).</summary>
    private MeterListener ListenToShed(List<(long Value, string? Reason)> into)
    {
        var factory = _services.GetRequiredService<IMeterFactory>();
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == "ken_shed_total" && ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? reason = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "reason")
                {
                    reason = tag.Value as string;
                }
            }

            into.Add((value, reason));
        });
        listener.Start();
        return listener;
    }

    private (WorkQueues Queues, BatchCollector Collector) Create(int maxTexts, int maxTokens, TimeSpan? maxWait = null)
    {
        var queues = new WorkQueues(new SchedulerOptions { MaxQueueWait = maxWait ?? TimeSpan.FromSeconds(2) });
        var metrics = new KenMetrics(_services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        var collector = new BatchCollector(queues, new BatchingOptions { MaxTexts = maxTexts, MaxTokens = maxTokens, Window = TimeSpan.Zero }, metrics);
        return (queues, collector);
    }

    private TaskQueue Enqueue(WorkQueues queues, params IReadOnlyList<TokenizedText>[] requests)
    {
        lock (queues.Gate)
        {
            foreach (var texts in requests)
            {
                queues.Add(new InferenceWork(_entry, texts, null, default(ActivityContext), CancellationToken.None));
            }

            return queues.All.Single();
        }
    }

    private static TokenizedText[] Texts(params int[] lengths) =>
        [.. lengths.Select(n => new TokenizedText(new long[n], truncated: false))];

    private static int[][] Lengths(List<InferenceWork> batch) =>
        [.. batch.Select(w => w.Inputs.Select(t => t.Length).ToArray())];
}
