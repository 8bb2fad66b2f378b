using System.Diagnostics;
using Grpc.Core;
using HdrHistogram;
using Ken.Client;

namespace Ken.Cli.Bench;

/// <summary>
/// Sends load to a server, closed loop (fixed callers) or open loop (Poisson arrivals), and
/// measures latency from the moment a request was due, so a slow server cannot hide its queueing
/// behind a slowed-down client (coordinated omission).
/// </summary>
internal sealed class LoadGenerator
{
    // Lateness beyond this counts as the client falling behind its own schedule.
    private static readonly TimeSpan LateThreshold = TimeSpan.FromMilliseconds(5);

    private readonly KenClient client;
    private readonly BenchSettings settings;
    private readonly IReadOnlyList<BenchTask> tasks;
    private readonly IReadOnlyList<string> texts;
    private readonly ZipfSampler zipf;
    private readonly Random random;
    private readonly Lock gate = new();
    // Microseconds, up to an hour, 3 significant digits.
    private readonly LongHistogram histogram = new(3_600_000_000L, 3);
    private readonly List<(double AtSeconds, double LatencyMs, bool Ok)> samples = [];
    private readonly Dictionary<StatusCode, long> errors = [];
    private long measureStart;
    private long stopAt;
    private long issued;
    private long responses;
    private long failed;
    private long textsDone;
    private long lateArrivals;
    private long dropped;
    private double maxLagMs;

    public LoadGenerator(KenClient client, BenchSettings settings, IReadOnlyList<BenchTask> tasks, IReadOnlyList<string> texts)
    {
        this.client = client;
        this.settings = settings;
        this.tasks = tasks;
        this.texts = texts;
        zipf = new ZipfSampler(tasks.Count, settings.Zipf);
        random = new Random(settings.Seed);
    }

    public long Responses => Interlocked.Read(ref responses);

    public long Failed => Interlocked.Read(ref failed);

    /// <summary>Seconds since the measured window began (negative during warm-up).</summary>
    public double ElapsedSeconds => (Stopwatch.GetTimestamp() - Volatile.Read(ref measureStart)) / (double)Stopwatch.Frequency;

    /// <summary>
    /// Runs warm-up then the measured window; <paramref name="onMeasureStart"/> runs when warm-up ends.
    /// Without warm-up it runs to completion before the first request is sent, so what it reads (the
    /// server's counters) includes none of the measured requests.
    /// </summary>
    public async Task<BenchReport> RunAsync(Func<Task>? onMeasureStart, CancellationToken cancellationToken)
    {
        if (settings.Warmup <= TimeSpan.Zero && onMeasureStart is not null)
        {
            await onMeasureStart();
            onMeasureStart = null;
        }

        long start = Stopwatch.GetTimestamp();
        measureStart = start + (long)(settings.Warmup.TotalSeconds * Stopwatch.Frequency);
        stopAt = measureStart + (long)(settings.Duration.TotalSeconds * Stopwatch.Frequency);
        var atMeasureStart = Task.Run(
            async () =>
            {
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), measureStart);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, cancellationToken);
                }

                if (onMeasureStart is not null)
                {
                    await onMeasureStart();
                }
            },
            cancellationToken);

        if (settings.Rate is { } rate)
        {
            await OpenLoopAsync(new PoissonArrivals(rate, settings.Seed), start, cancellationToken);
        }
        else
        {
            var workers = new Task[settings.Concurrency];
            for (int i = 0; i < workers.Length; i++)
            {
                workers[i] = Task.Run(() => ClosedLoopWorkerAsync(cancellationToken), cancellationToken);
            }

            await Task.WhenAll(workers);
        }

        await atMeasureStart;
        long end = Stopwatch.GetTimestamp();
        return BuildReport(Math.Max(1e-9, Stopwatch.GetElapsedTime(measureStart, end).TotalSeconds));
    }

    private async Task ClosedLoopWorkerAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested && TryBegin(Stopwatch.GetTimestamp(), out bool measured))
        {
            await SendAsync(Stopwatch.GetTimestamp(), measured, cancellationToken);
        }
    }

    /// <summary>
    /// Sends each arrival of <paramref name="arrivals"/> when it is due, counted from <paramref name="start"/>
    /// (the same instant the warm-up and measured windows count from), whatever the replies do.
    /// </summary>
    private async Task OpenLoopAsync(PoissonArrivals arrivals, long start, CancellationToken cancellationToken)
    {
        var inFlight = new List<Task>();
        int running = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            long due = start + (long)(arrivals.Next() * Stopwatch.Frequency);
            if (due >= stopAt)
            {
                // Past the window: stop now rather than sleep until an arrival that will not be sent.
                break;
            }

            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait, cancellationToken);
            }

            long now = Stopwatch.GetTimestamp();
            if (!TryBegin(due, out bool measured))
            {
                break;
            }

            if (measured)
            {
                double lagMs = Stopwatch.GetElapsedTime(due, now).TotalMilliseconds;
                if (lagMs > LateThreshold.TotalMilliseconds)
                {
                    Interlocked.Increment(ref lateArrivals);
                }

                lock (gate)
                {
                    maxLagMs = Math.Max(maxLagMs, lagMs);
                }
            }

            if (Volatile.Read(ref running) >= settings.MaxInFlight)
            {
                if (measured)
                {
                    // Not sent, so not a request: it keeps requests = responses + errors honest.
                    Interlocked.Decrement(ref issued);
                    Interlocked.Increment(ref dropped);
                }

                continue;
            }

            Interlocked.Increment(ref running);
            long arrival = due;
            inFlight.Add(Task.Run(
                async () =>
                {
                    try
                    {
                        await SendAsync(arrival, measured, cancellationToken);
                    }
                    finally
                    {
                        Interlocked.Decrement(ref running);
                    }
                },
                CancellationToken.None));
            if (inFlight.Count > 4 * settings.MaxInFlight)
            {
                inFlight.RemoveAll(t => t.IsCompleted);
            }
        }

        await Task.WhenAll(inFlight);
    }

    /// <summary>Admits one more request due at <paramref name="due"/>, unless the run is over.</summary>
    private bool TryBegin(long due, out bool measured)
    {
        measured = due >= measureStart;
        if (due >= stopAt)
        {
            return false;
        }

        if (measured && settings.MaxRequests is { } max && Interlocked.Increment(ref issued) > max)
        {
            Interlocked.Decrement(ref issued);
            return false;
        }

        if (measured && settings.MaxRequests is null)
        {
            Interlocked.Increment(ref issued);
        }

        return true;
    }

    private async Task SendAsync(long due, bool measured, CancellationToken cancellationToken)
    {
        BenchTask task;
        string[] batch = new string[settings.Batch];
        lock (gate)
        {
            task = tasks[zipf.Next(random)];
            int first = random.Next(texts.Count);
            for (int i = 0; i < batch.Length; i++)
            {
                batch[i] = texts[(first + i) % texts.Count];
            }
        }

        StatusCode? error = null;
        try
        {
            if (task.IsClassification)
            {
                await client.ClassifyAsync(task.Name, batch, 0, cancellationToken);
            }
            else
            {
                await client.EmbedAsync(task.Name, batch, cancellationToken);
            }
        }
        catch (RpcException e)
        {
            error = e.StatusCode;
        }
        catch (OperationCanceledException)
        {
            error = StatusCode.Cancelled;
        }

        if (!measured)
        {
            return;
        }

        long done = Stopwatch.GetTimestamp();
        var latency = Stopwatch.GetElapsedTime(due, done);
        double at = Stopwatch.GetElapsedTime(measureStart, done).TotalSeconds;
        lock (gate)
        {
            samples.Add((at, latency.TotalMilliseconds, error is null));
            if (error is { } code)
            {
                errors[code] = errors.GetValueOrDefault(code) + 1;
            }
            else
            {
                histogram.RecordValue(Math.Clamp((long)(latency.TotalMilliseconds * 1000), 1, histogram.HighestTrackableValue));
            }
        }

        if (error is null)
        {
            Interlocked.Increment(ref responses);
            Interlocked.Add(ref textsDone, batch.Length);
        }
        else
        {
            Interlocked.Increment(ref failed);
        }
    }

    private BenchReport BuildReport(double elapsed)
    {
        lock (gate)
        {
            bool any = histogram.TotalCount > 0;
            double Ms(double percentile) => any ? histogram.GetValueAtPercentile(percentile) / 1000.0 : 0;
            return new BenchReport
            {
                Server = client.Address,
                Mode = settings.Rate is null ? "closed" : "open",
                Concurrency = settings.Rate is null ? settings.Concurrency : null,
                Rate = settings.Rate,
                Tasks = [.. tasks.Select(t => t.Name)],
                Zipf = settings.Zipf,
                Batch = settings.Batch,
                WarmupSeconds = settings.Warmup.TotalSeconds,
                ElapsedSeconds = elapsed,
                Requests = Interlocked.Read(ref issued),
                Responses = responses,
                Errors = failed,
                Texts = textsDone,
                ThroughputRps = responses / elapsed,
                TextsPerSecond = textsDone / elapsed,
                LatencyMs = new LatencySummary(any ? histogram.GetMean() / 1000.0 : 0, Ms(50), Ms(90), Ms(99), Ms(99.9), any ? histogram.GetMaxValue() / 1000.0 : 0),
                ErrorsByStatus = errors.ToDictionary(e => e.Key.ToString(), e => e.Value),
                ClientLag = settings.Rate is null ? null : new ClientLag(lateArrivals, maxLagMs, dropped, dropped > 0 || lateArrivals > Math.Max(1, issued / 100)),
                Timeline = Timeline(),
            };
        }
    }

    private List<TimelinePoint> Timeline()
    {
        var points = new List<TimelinePoint>();
        foreach (var second in samples.GroupBy(s => (int)Math.Floor(Math.Max(0, s.AtSeconds))).OrderBy(g => g.Key))
        {
            var ok = second.Where(s => s.Ok).Select(s => s.LatencyMs).Order().ToArray();
            points.Add(new TimelinePoint(second.Key, ok.Length, second.Count(s => !s.Ok), Percentile(ok, 0.50), Percentile(ok, 0.99)));
        }

        return points;
    }

    private static double Percentile(double[] sorted, double q) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
}
