namespace Ken.Cli.Bench;

/// <summary>What <c>ken bench</c> sends: loop kind, mix of tasks and texts, and when it stops.</summary>
internal sealed record BenchSettings
{
    /// <summary>Closed loop: this many callers, each sending its next request when the last one returns.</summary>
    public int Concurrency { get; init; } = 8;

    /// <summary>Open loop when set: Poisson arrivals at this many requests per second, regardless of replies.</summary>
    public double? Rate { get; init; }

    public double Zipf { get; init; }

    public int Batch { get; init; } = 1;

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(1);

    public long? MaxRequests { get; init; }

    public int Seed { get; init; } = 1;

    /// <summary>Open loop: arrivals beyond this many requests in flight are dropped and counted, so the client cannot exhaust itself.</summary>
    public int MaxInFlight { get; init; } = 4096;
}
