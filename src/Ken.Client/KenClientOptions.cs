namespace Ken.Client;

/// <summary>How a <see cref="KenClient"/> reaches a server and how patient it is.</summary>
public sealed record KenClientOptions
{
    public const string DefaultAddress = "http://127.0.0.1:5000";

    /// <summary>The server's gRPC endpoint, e.g. <c>http://127.0.0.1:5000</c>.</summary>
    public string Address { get; init; } = DefaultAddress;

    /// <summary>The registry's admin token, sent as <c>authorization: Bearer</c>; null sends none.</summary>
    public string? AdminToken { get; init; }

    /// <summary>Deadline of each inference, health or registry call (uploads get <see cref="UploadTimeout"/>).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Deadline of a whole task upload.</summary>
    public TimeSpan UploadTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Extra attempts after an UNAVAILABLE reply (0 disables retries). Backoff doubles from
    /// <see cref="InitialBackoff"/> up to <see cref="MaxBackoff"/>, with jitter.
    /// </summary>
    public int MaxRetries { get; init; } = 3;

    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Bytes per upload message; must stay under the server's <c>--max-message-size</c>.</summary>
    public int UploadChunkBytes { get; init; } = 1 << 20;
}
