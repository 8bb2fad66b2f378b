using System.Globalization;

using Ken.Format;

namespace Ken.Server.Hosting;

/// <summary>
/// Everything the server is configured with. Values come from, in rising precedence, appsettings.json
/// (section <c>Ken</c>), <c>KEN_*</c> environment variables and command-line flags; see
/// <see cref="OptionSources"/> and docs/OPERATIONS.md.
/// </summary>
public sealed class KenServerOptions
{
    public const string Section = "Ken";

    public const string DefaultUrls = "http://127.0.0.1:5000";

    public const string DefaultMetricsUrls = "http://127.0.0.1:9464";

    /// <summary>HTTP/1.1 endpoint(s) for the Prometheus scrape at /metrics; <c>none</c> disables it.</summary>
    public string MetricsUrls { get; init; } = DefaultMetricsUrls;

    /// <summary>Backbone: a default model name (<c>minilm</c>) or a path to an ONNX encoder.</summary>
    public string Model { get; init; } = "minilm";

    /// <summary>WordPiece vocabulary for a custom <see cref="Model"/>; the default models bring theirs.</summary>
    public string? Vocab { get; init; }

    /// <summary>Root of the registry (<c>tasks/</c>, unless <see cref="RegistryDir"/> is set), the quarantine and the admin token.</summary>
    public string DataDir { get; init; } = DefaultDataDir();

    /// <summary>
    /// A registry folder shared by several replicas (each with its own <see cref="DataDir"/>); null: this
    /// replica's own <c>&lt;data-dir&gt;/tasks</c>. When set, the replica watches it for tasks that other
    /// replicas register, replace or unregister.
    /// </summary>
    public string? RegistryDir { get; init; }

    /// <summary>How often a replica with a shared <see cref="RegistryDir"/> lists it for changes (milliseconds).</summary>
    public int RegistryPollMs { get; init; } = 500;

    /// <summary>Default bytes of materialized weight sets (<c>--slot-memory</c>): four MiniLM-sized slots.</summary>
    public const long DefaultSlotMemory = 384L << 20;

    /// <summary>
    /// Weight slots (tasks materialized at once) as an explicit count; when set it wins over
    /// <see cref="SlotMemory"/>. Null: as many as <see cref="SlotMemory"/> holds (patch, reload) or one per
    /// executor (resident, whose slots hold no weights of their own).
    /// </summary>
    public int? Slots { get; init; }

    /// <summary>Bytes of materialized weight sets: as many slots as fit, at least one (unless <see cref="Slots"/> is set).</summary>
    public long SlotMemory { get; init; } = DefaultSlotMemory;

    /// <summary>How many batches run at once (each on its own slot, with cores / executors ONNX Runtime threads).</summary>
    public int Executors { get; init; } = DefaultExecutors(Environment.ProcessorCount);

    /// <summary>While every executor is busy, idle slots switch to the next waiting task ahead of time.</summary>
    public bool Prefetch { get; init; } = true;

    /// <summary>Most texts in one batch.</summary>
    public int MaxBatch { get; init; } = 32;

    /// <summary>Most tokens in one batch, padding included (texts × longest text).</summary>
    public int MaxBatchTokens { get; init; } = Scheduling.BatchingOptions.DefaultMaxTokens;

    /// <summary>How long a slot waits for more requests of its task before running a partial batch.</summary>
    public int BatchWindowMs { get; init; } = 2;

    /// <summary>Most requests waiting in all queues together; beyond it requests get RESOURCE_EXHAUSTED.</summary>
    public int MaxQueue { get; init; } = 1024;

    /// <summary>Bytes of bound deltas kept in host memory (LRU beyond it; pinned tasks stay).</summary>
    public long HostDeltaBudget { get; init; } = 1L << 30;

    public SwapMode SwapMode { get; init; } = SwapMode.Patch;

    /// <summary>Where the backbone runs: <c>cpu</c> (default) or <c>cuda[:N]</c>.</summary>
    public ComputeDevice Device { get; init; } = ComputeDevice.Cpu;

    /// <summary>Bytes of task deltas kept in device memory on a GPU (LRU beyond it; pinned tasks and those a slot holds stay).</summary>
    public long DeviceDeltaBudget { get; init; } = 4L << 30;

    /// <summary>Lets ONNX Runtime's CUDA provider use TF32 tensor cores for float32 matrix products (faster, about 1e-3 less exact).</summary>
    public bool CudaTf32 { get; init; }

    /// <summary>Lets ONNX Runtime place graph nodes the CUDA provider cannot run on the CPU instead of failing at start.</summary>
    public bool AllowCpuFallback { get; init; }

    /// <summary>Bearer token for the registry; when null the server creates one in <see cref="DataDir"/>.</summary>
    public string? AdminToken { get; init; }

    /// <summary>Largest gRPC message accepted (requests and upload chunks).</summary>
    public int MaxMessageBytes { get; init; } = 16 << 20;

    /// <summary>Most texts in one Classify or Embed call.</summary>
    public int MaxTexts { get; init; } = 256;

    /// <summary>Most characters in one text.</summary>
    public int MaxTextChars { get; init; } = 32_768;

    /// <summary>Largest .ken file RegisterTask accepts.</summary>
    public long MaxTaskBytes { get; init; } = 1L << 30;

    /// <summary>How long shutdown waits for admitted requests to finish.</summary>
    public int ShutdownTimeoutSeconds { get; init; } = 30;

    /// <summary>The registry folder: <see cref="RegistryDir"/> when set, else <c>&lt;data-dir&gt;/tasks</c>.</summary>
    public string TasksDir => RegistryDir ?? Path.Combine(DataDir, "tasks");

    public string QuarantineDir => Path.Combine(DataDir, "quarantine");

    public string AdminTokenPath => Path.Combine(DataDir, "admin.token");

    public static string DefaultDataDir() =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "ken");

    /// <summary>Reads and validates the options from the <see cref="Section"/> section of <paramref name="configuration"/>.</summary>
    public static KenServerOptions Load(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(Section);
        var defaults = new KenServerOptions();
        var options = new KenServerOptions
        {
            Model = Text("Model") ?? defaults.Model,
            MetricsUrls = Text("MetricsUrls") ?? defaults.MetricsUrls,
            Vocab = Text("Vocab"),
            DataDir = Path.GetFullPath(Text("DataDir") ?? defaults.DataDir),
            RegistryDir = Text("RegistryDir") is { } registryDir ? Path.GetFullPath(registryDir) : null,
            RegistryPollMs = Int("RegistryPollMs", defaults.RegistryPollMs, 50, 60_000),
            Slots = Text("Slots") is null ? null : Int("Slots", 2, 1, 1024),
            SlotMemory = Text("SlotMemory") is { } slotMemory ? ByteSize.Parse(slotMemory, Flag("SlotMemory")) : defaults.SlotMemory,
            Executors = Int("Executors", defaults.Executors, 1, 256),
            Prefetch = Text("Prefetch") is { } prefetch ? Bool("Prefetch", prefetch) : defaults.Prefetch,
            MaxBatch = Int("MaxBatch", defaults.MaxBatch, 1, 65_536),
            MaxBatchTokens = Int("MaxBatchTokens", defaults.MaxBatchTokens, 1, 16_777_216),
            BatchWindowMs = Int("BatchWindowMs", defaults.BatchWindowMs, 0, 10_000),
            MaxQueue = Int("MaxQueue", defaults.MaxQueue, 1, 10_000_000),
            HostDeltaBudget = Text("HostDeltaBudget") is { } budget ? ByteSize.Parse(budget, Flag("HostDeltaBudget")) : defaults.HostDeltaBudget,
            SwapMode = Text("SwapMode") is { } mode ? ParseSwapMode(mode) : defaults.SwapMode,
            Device = Text("Device") is { } device ? ComputeDevice.Parse(device) : defaults.Device,
            DeviceDeltaBudget = Text("DeviceDeltaBudget") is { } deviceBudget ? ByteSize.Parse(deviceBudget, Flag("DeviceDeltaBudget")) : defaults.DeviceDeltaBudget,
            CudaTf32 = Switch("CudaTf32", defaults.CudaTf32),
            AllowCpuFallback = Switch("AllowCpuFallback", defaults.AllowCpuFallback),
            AdminToken = Text("AdminToken"),
            MaxMessageBytes = (int)Math.Min(int.MaxValue, Text("MaxMessageBytes") is { } m ? ByteSize.Parse(m, Flag("MaxMessageBytes")) : defaults.MaxMessageBytes),
            MaxTexts = Int("MaxTexts", defaults.MaxTexts, 1, 1_000_000),
            MaxTextChars = Int("MaxTextChars", defaults.MaxTextChars, 1, 100_000_000),
            MaxTaskBytes = Text("MaxTaskBytes") is { } t ? ByteSize.Parse(t, Flag("MaxTaskBytes")) : defaults.MaxTaskBytes,
            ShutdownTimeoutSeconds = Int("ShutdownTimeoutSeconds", defaults.ShutdownTimeoutSeconds, 0, 3600),
        };

        if (options.MaxMessageBytes < 1024)
        {
            throw new KenException($"{Flag("MaxMessageBytes")} is {options.MaxMessageBytes} bytes; use at least 1KB (the default is 16MB).");
        }

        if (options.SlotMemory < 1)
        {
            throw new KenException($"{Flag("SlotMemory")} must be at least 1 byte (one slot is always kept); the default is 384MiB.");
        }

        if (options.MaxTaskBytes < 1)
        {
            throw new KenException($"{Flag("MaxTaskBytes")} must be at least 1 byte; the default is 1GiB.");
        }

        if (options.AdminToken is { Length: < 16 })
        {
            throw new KenException($"{Flag("AdminToken")} is shorter than 16 characters; use a long random token (e.g. `openssl rand -hex 32`), or leave it unset and the server creates one.");
        }

        if (options.Device.IsCuda && options.SwapMode != SwapMode.Patch)
        {
            throw new KenException($"{Flag("SwapMode")} {options.SwapMode.ToString().ToLowerInvariant()} runs on the CPU only; use --swap-mode patch with --device {options.Device}, or --device cpu.");
        }

        if (options.Vocab is not null && !File.Exists(options.Vocab))
        {
            throw new KenException($"{Flag("Vocab")} is {options.Vocab}, which does not exist; pass the vocab.txt of your model.");
        }

        return options;

        string? Text(string key)
        {
            var value = section[key];
            return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
        }

        bool Switch(string key, bool fallback)
        {
            return Text(key)?.ToUpperInvariant() switch
            {
                null => fallback,
                "ON" or "TRUE" or "1" or "YES" => true,
                "OFF" or "FALSE" or "0" or "NO" => false,
                _ => throw new KenException($"{Flag(key)} is \"{Text(key)}\"; use on or off (default {(fallback ? "on" : "off")})."),
            };
        }

        int Int(string key, int fallback, int min, int max)
        {
            var text = Text(key);
            if (text is null)
            {
                return fallback;
            }

            if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            {
                throw new KenException($"{Flag(key)} is \"{text}\"; it must be a whole number from {min} to {max} (default {fallback}).");
            }

            return value;
        }
    }

    /// <summary>
    /// Executors when none are configured: one per core up to four. On a CPU, small batches scale better
    /// across executors than across ONNX Runtime threads of one run; beyond four, slots (memory) run out first.
    /// </summary>
    public static int DefaultExecutors(int cores) => Math.Clamp(cores, 1, 4);

    /// <summary>ONNX Runtime intra-op threads per run, so that <paramref name="executors"/> runs at once share the cores.</summary>
    public static int IntraOpThreadsFor(int executors, int cores) => Math.Max(1, cores / Math.Max(1, executors));

    /// <summary>Parses <c>patch</c>, <c>reload</c> or <c>resident</c>.</summary>
    public static SwapMode ParseSwapMode(string text) => text.Trim().ToUpperInvariant() switch
    {
        "PATCH" => SwapMode.Patch,
        "RELOAD" => SwapMode.Reload,
        "RESIDENT" => SwapMode.Resident,
        _ => throw new KenException($"--swap-mode is \"{text}\"; choose patch (default), reload or resident."),
    };

    private static string Flag(string key) => OptionSources.FlagFor(key);

    private static bool Bool(string key, string text) => text.ToUpperInvariant() switch
    {
        "TRUE" or "1" or "ON" or "YES" => true,
        "FALSE" or "0" or "OFF" or "NO" => false,
        _ => throw new KenException($"{Flag(key)} is \"{text}\"; use true or false."),
    };
}
