namespace Ken.Cli.Bench;

// What `ken bench` measured; serialized snake_case by --json. Latencies in milliseconds.
internal sealed record BenchReport
{
    public required string Server { get; init; }

    public required string Mode { get; init; }

    public int? Concurrency { get; init; }

    public double? Rate { get; init; }

    public required IReadOnlyList<string> Tasks { get; init; }

    public double Zipf { get; init; }

    public int Batch { get; init; }

    public double WarmupSeconds { get; init; }

    /// <summary>From the end of warm-up to the last reply.</summary>
    public double ElapsedSeconds { get; init; }

    /// <summary>Requests sent after warm-up; always <see cref="Responses"/> + <see cref="Errors"/>.</summary>
    public long Requests { get; init; }

    public long Responses { get; init; }

    public long Errors { get; init; }

    public long Texts { get; init; }

    public double ThroughputRps { get; init; }

    public double TextsPerSecond { get; init; }

    public required LatencySummary LatencyMs { get; init; }

    public required IReadOnlyDictionary<string, long> ErrorsByStatus { get; init; }

    [System.Text.Json.Serialization.JsonPropertyName("server_counters")]
    public ServerCounters? ServerCounters { get; init; }

    public string? MetricsError { get; init; }

    public ClientLag? ClientLag { get; init; }

    public required IReadOnlyList<TimelinePoint> Timeline { get; init; }
}

internal sealed record LatencySummary(double Mean, double P50, double P90, double P99, double P999, double Max);

/// <summary>Server counters over the measured window, from its /metrics before and after.</summary>
internal sealed record ServerCounters(double Swaps, double SwapsPerSecond, double SlotHits, double Batches, double? SlotHitRate, double Requests);

/// <summary>Open loop only: how far the client itself fell behind its arrival schedule.</summary>
internal sealed record ClientLag(long LateArrivals, double MaxLagMs, long Dropped, bool FellBehind);

/// <summary>One second of the measured window, by completion time.</summary>
internal sealed record TimelinePoint(int Second, long Responses, long Errors, double P50Ms, double P99Ms);
