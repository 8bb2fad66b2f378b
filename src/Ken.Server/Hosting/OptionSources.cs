namespace Ken.Server.Hosting;

/// <summary>
/// The one table of option names: command-line flag, configuration key (under <c>Ken:</c>) and
/// environment variable, so that flags, appsettings.json and <c>KEN_*</c> variables stay in step.
/// </summary>
public static class OptionSources
{
    private static readonly (string Flag, string Key)[] Table =
    [
        ("--metrics-urls", "MetricsUrls"),
        ("--model", "Model"),
        ("--vocab", "Vocab"),
        ("--data-dir", "DataDir"),
        ("--registry-dir", "RegistryDir"),
        ("--registry-poll-ms", "RegistryPollMs"),
        ("--slots", "Slots"),
        ("--slot-memory", "SlotMemory"),
        ("--executors", "Executors"),
        ("--prefetch", "Prefetch"),
        ("--max-batch", "MaxBatch"),
        ("--max-batch-tokens", "MaxBatchTokens"),
        ("--batch-window-ms", "BatchWindowMs"),
        ("--max-queue", "MaxQueue"),
        ("--host-delta-budget", "HostDeltaBudget"),
        ("--swap-mode", "SwapMode"),
        ("--device", "Device"),
        ("--device-delta-budget", "DeviceDeltaBudget"),
        ("--cuda-tf32", "CudaTf32"),
        ("--allow-cpu-fallback", "AllowCpuFallback"),
        ("--admin-token", "AdminToken"),
        ("--max-message-size", "MaxMessageBytes"),
        ("--max-texts", "MaxTexts"),
        ("--max-text-chars", "MaxTextChars"),
        ("--max-task-size", "MaxTaskBytes"),
        ("--shutdown-timeout-s", "ShutdownTimeoutSeconds"),
    ];

    /// <summary>Maps each flag to its configuration key, for <c>AddCommandLine</c>.</summary>
    public static Dictionary<string, string> SwitchMappings()
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (flag, key) in Table)
        {
            map[flag] = KenServerOptions.Section + ":" + key;
        }

        return map;
    }

    /// <summary>
    /// The <c>KEN_*</c> environment variables as configuration keys (e.g. <c>KEN_MAX_BATCH</c> →
    /// <c>Ken:MaxBatch</c>); the flag spelling decides the variable name, so both read alike.
    /// </summary>
    public static Dictionary<string, string?> FromEnvironment(System.Collections.IDictionary environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var result = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (flag, key) in Table)
        {
            if (environment[EnvironmentVariableFor(flag)] is string value)
            {
                result[KenServerOptions.Section + ":" + key] = value;
            }
        }

        // Kestrel's address is not a Ken option, but KEN_URLS reads naturally next to the others.
        if (environment["KEN_URLS"] is string urls)
        {
            result["urls"] = urls;
        }

        return result;
    }

    /// <summary>The flag that sets configuration key <paramref name="key"/>, for error messages.</summary>
    public static string FlagFor(string key)
    {
        foreach (var (flag, k) in Table)
        {
            if (k == key)
            {
                return $"{flag} ({EnvironmentVariableFor(flag)})";
            }
        }

        return key;
    }

    private static string EnvironmentVariableFor(string flag) =>
        "KEN_" + flag.TrimStart('-').Replace('-', '_').ToUpperInvariant();
}
