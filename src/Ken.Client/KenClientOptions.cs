namespace Ken.Client;

/// <summary>How a <see cref="KenClient"/> reaches a server and how patient it is.</summary>
public sealed record KenClientOptions
{
    /// <summary>The address a server listens on when started without <c>--urls</c>.</summary>
    public const string DefaultAddress = "http://127.0.0.1:5000";

    /// <summary>The server's gRPC endpoint, e.g. <c>http://127.0.0.1:5000</c>.</summary>
    public string Address { get; init; } = DefaultAddress;

    /// <summary>The registry's admin token, sent as <c>authorization: Bearer</c>; null sends none.</summary>
    public string? AdminToken { get; init; }

    /// <summary>
    /// Tenant token for inference calls (Classify, Embed) on a server started with <c>--tenant-tokens</c>,
    /// sent as <c>authorization: Bearer</c>; null sends none. Separate from <see cref="AdminToken"/>.
    /// </summary>
    public string? InferenceToken { get; init; }

    /// <summary>
    /// PEM file of the certificate(s) to trust for an https:// <see cref="Address"/>: the server's CA or its
    /// own self-signed certificate. Null: the system's trusted roots.
    /// </summary>
    public string? TrustedCertificatePath { get; init; }

    /// <summary>Deadline of each inference, health or registry call (uploads get <see cref="UploadTimeout"/>).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Deadline of a whole task upload.</summary>
    public TimeSpan UploadTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Extra attempts after an UNAVAILABLE reply (0 disables retries). Backoff doubles from
    /// <see cref="InitialBackoff"/> up to <see cref="MaxBackoff"/>, with jitter. gRPC caps the
    /// attempts of one call at 5, so values above 4 act as 4.
    /// </summary>
    public int MaxRetries { get; init; } = 3;

    /// <summary>Backoff before the first retry.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest backoff between two retries.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Bytes per upload message; must stay under the server's <c>--max-message-size</c>.</summary>
    public int UploadChunkBytes { get; init; } = 1 << 20;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range.</summary>
    internal void Validate()
    {
        Positive(Timeout, nameof(Timeout));
        Positive(UploadTimeout, nameof(UploadTimeout));
        Positive(InitialBackoff, nameof(InitialBackoff));
        Positive(MaxBackoff, nameof(MaxBackoff));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxRetries, nameof(MaxRetries));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(UploadChunkBytes, nameof(UploadChunkBytes));
    }

    private static void Positive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be a positive time span.");
        }
    }
}
