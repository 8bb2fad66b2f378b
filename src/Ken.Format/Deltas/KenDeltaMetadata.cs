using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Ken.Format.Deltas;

/// <summary>
/// The task-level keys of a <c>.ken</c> file's <c>__metadata__</c>. Per-tensor keys
/// (<c>base.&lt;name&gt;</c>, <c>shape.&lt;name&gt;</c>) belong to <see cref="PatchedTensor"/> and are
/// added by <see cref="KenDeltaWriter"/>.
/// </summary>
public sealed record KenDeltaMetadata
{
    public const string FormatValue = "ken-delta";
    public const string CurrentVersion = "1";

    public const string FormatKey = "format";
    public const string VersionKey = "version";
    public const string TaskKey = "task";
    public const string KindKey = "kind";
    public const string LabelsKey = "labels";
    public const string PoolingKey = "pooling";
    public const string NormalizeKey = "normalize";
    public const string KKey = "k";
    public const string KeepKey = "keep";
    public const string MethodKey = "method";
    public const string SeedKey = "seed";
    public const string BlockKey = "block";
    public const string CreatedByKey = "created_by";
    public const string BaseModelKey = "base_model";

    /// <summary>Prefix of the per-tensor base fingerprint keys.</summary>
    public const string BaseFingerprintPrefix = "base.";

    /// <summary>Prefix of the per-tensor canonical shape keys (comma-separated dimensions).</summary>
    public const string ShapePrefix = "shape.";

    private static readonly string[] KnownMethods = ["ken", "magnitude", "random"];

    private static readonly HashSet<string> ReservedKeys = new(StringComparer.Ordinal)
    {
        FormatKey, VersionKey, TaskKey, KindKey, LabelsKey, PoolingKey, NormalizeKey, KKey, KeepKey,
        MethodKey, SeedKey, BlockKey, CreatedByKey, BaseModelKey,
    };

    /// <summary>The task's name.</summary>
    public required string Task { get; init; }

    public required TaskKind Kind { get; init; }

    /// <summary>Class labels in output order (classification); empty for embeddings.</summary>
    public IReadOnlyList<string> Labels { get; init; } = [];

    public required PoolingMode Pooling { get; init; }

    /// <summary>Whether outputs are L2-normalized.</summary>
    public bool Normalize { get; init; }

    /// <summary>The absolute per-row budget (<c>--k</c>); exactly one of K and Keep is set.</summary>
    public int? K { get; init; }

    /// <summary>The per-row fraction kept (<c>--keep</c>), in (0, 1]; exactly one of K and Keep is set.</summary>
    public double? Keep { get; init; }

    /// <summary>Selection method: <c>ken</c>, <c>magnitude</c> or <c>random</c>.</summary>
    public required string Method { get; init; }

    /// <summary>The seed of the <c>random</c> method, when one was used.</summary>
    public long? Seed { get; init; }

    /// <summary>
    /// Elements per aligned block when the method selected whole blocks of each row (<c>--block</c>,
    /// at least 2; <c>magnitude</c> and <c>random</c> only); null: element by element.
    /// </summary>
    public int? Block { get; init; }

    /// <summary>The tool and version that wrote the file, e.g. <c>ken 0.1.0</c>.</summary>
    public required string CreatedBy { get; init; }

    /// <summary>Free text naming the base model, for people; fingerprints are what is checked.</summary>
    public string? BaseModel { get; init; }

    /// <summary>The format version; only <see cref="CurrentVersion"/> exists.</summary>
    public string Version { get; init; } = CurrentVersion;

    /// <summary>Keys this version does not define, kept so that a rewrite loses nothing.</summary>
    public IReadOnlyDictionary<string, string> Extra { get; init; } = new Dictionary<string, string>();

    public static string ToText(TaskKind kind) => kind switch
    {
        TaskKind.Classification => "classification",
        TaskKind.Embedding => "embedding",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    public static string ToText(PoolingMode pooling) => pooling switch
    {
        PoolingMode.Pooler => "pooler",
        PoolingMode.Cls => "cls",
        PoolingMode.Mean => "mean",
        _ => throw new ArgumentOutOfRangeException(nameof(pooling), pooling, null),
    };

    /// <summary>
    /// Parses and validates the task-level keys of <paramref name="metadata"/> (a file's whole
    /// <c>__metadata__</c>; per-tensor keys are skipped). <paramref name="source"/> names the file in errors.
    /// </summary>
    public static KenDeltaMetadata Parse(IReadOnlyDictionary<string, string> metadata, string source)
    {
        if (!metadata.TryGetValue(FormatKey, out var format))
        {
            throw new KenException($"{source} is not a Ken delta: its metadata has no '{FormatKey}' key; pass a .ken file built by `ken prune`.");
        }

        if (format != FormatValue)
        {
            throw new KenException($"{source} is not a Ken delta: its metadata says {FormatKey}={format}, not {FormatValue}; pass a .ken file built by `ken prune`.");
        }

        string version = Required(VersionKey);
        if (version != CurrentVersion)
        {
            throw new KenException($"{source} is a version {version} Ken delta, but this Ken reads version {CurrentVersion}; rebuild it with `ken prune` from this Ken, or upgrade Ken.");
        }

        string kindText = Required(KindKey);
        TaskKind kind = kindText switch
        {
            "classification" => TaskKind.Classification,
            "embedding" => TaskKind.Embedding,
            _ => throw Invalid(KindKey, kindText, "classification or embedding"),
        };

        string poolingText = Required(PoolingKey);
        PoolingMode pooling = poolingText switch
        {
            "pooler" => PoolingMode.Pooler,
            "cls" => PoolingMode.Cls,
            "mean" => PoolingMode.Mean,
            _ => throw Invalid(PoolingKey, poolingText, "pooler, cls or mean"),
        };

        string normalizeText = Required(NormalizeKey);
        bool normalize = normalizeText switch
        {
            "true" => true,
            "false" => false,
            _ => throw Invalid(NormalizeKey, normalizeText, "true or false"),
        };

        string labelsText = Required(LabelsKey);
        var labels = ParseLabels(labelsText) ?? throw Invalid(LabelsKey, labelsText, "a JSON array of strings");

        int? k = null;
        if (metadata.TryGetValue(KKey, out var kText))
        {
            k = int.TryParse(kText, NumberStyles.None, CultureInfo.InvariantCulture, out int parsed)
                ? parsed
                : throw Invalid(KKey, kText, "a positive integer");
        }

        double? keep = null;
        if (metadata.TryGetValue(KeepKey, out var keepText))
        {
            keep = double.TryParse(keepText, NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out double parsed)
                ? parsed
                : throw Invalid(KeepKey, keepText, "a fraction in (0, 1]");
        }

        long? seed = null;
        if (metadata.TryGetValue(SeedKey, out var seedText))
        {
            seed = long.TryParse(seedText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long parsed)
                ? parsed
                : throw Invalid(SeedKey, seedText, "an integer");
        }

        int? block = null;
        if (metadata.TryGetValue(BlockKey, out var blockText))
        {
            block = int.TryParse(blockText, NumberStyles.None, CultureInfo.InvariantCulture, out int parsed)
                ? parsed
                : throw Invalid(BlockKey, blockText, "a block size of at least 2");
        }

        var extra = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in metadata)
        {
            if (!ReservedKeys.Contains(key)
                && !key.StartsWith(BaseFingerprintPrefix, StringComparison.Ordinal)
                && !key.StartsWith(ShapePrefix, StringComparison.Ordinal))
            {
                extra.Add(key, value);
            }
        }

        var result = new KenDeltaMetadata
        {
            Task = Required(TaskKey),
            Kind = kind,
            Labels = labels,
            Pooling = pooling,
            Normalize = normalize,
            K = k,
            Keep = keep,
            Method = Required(MethodKey),
            Seed = seed,
            Block = block,
            CreatedBy = Required(CreatedByKey),
            BaseModel = metadata.TryGetValue(BaseModelKey, out var baseModel) ? baseModel : null,
            Version = version,
            Extra = extra,
        };
        result.Validate(source);
        return result;

        string Required(string key) =>
            metadata.TryGetValue(key, out var value)
                ? value
                : throw new KenException($"{source}: the delta's metadata has no '{key}' key; rebuild it with `ken prune`.");

        KenException Invalid(string key, string value, string expected) =>
            new($"{source}: metadata '{key}' is \"{value}\", but it must be {expected}; rebuild the delta with `ken prune`.");
    }

    /// <summary>
    /// Checks the values against the format's rules; throws <see cref="KenException"/> naming
    /// <paramref name="source"/> and the offending key.
    /// </summary>
    public void Validate(string source)
    {
        const string Fix = "rebuild the delta with `ken prune`";
        if (string.IsNullOrWhiteSpace(Task))
        {
            throw new KenException($"{source}: metadata '{TaskKey}' is empty; {Fix} and a task name.");
        }

        if (K is null == Keep is null)
        {
            throw new KenException($"{source}: the metadata must hold exactly one of '{KKey}' and '{KeepKey}' (the budget); {Fix}.");
        }

        if (K is < 1)
        {
            throw new KenException($"{source}: metadata '{KKey}' is {K}, but a budget must be at least 1; {Fix}.");
        }

        if (Keep is { } keep && !(keep > 0 && keep <= 1))
        {
            throw new KenException($"{source}: metadata '{KeepKey}' is {keep.ToString("R", CultureInfo.InvariantCulture)}, but it must be a fraction in (0, 1]; {Fix}.");
        }

        if (Array.IndexOf(KnownMethods, Method) < 0)
        {
            throw new KenException($"{source}: metadata '{MethodKey}' is \"{Method}\", but it must be ken, magnitude or random; {Fix}.");
        }

        if (Block is { } block && (block < 2 || Method == "ken"))
        {
            throw new KenException(
                $"{source}: metadata '{BlockKey}' is {block}, but a block size must be at least 2 and only magnitude and random select in blocks (method is {Method}); {Fix}.");
        }

        if (Kind == TaskKind.Classification && Labels.Count == 0)
        {
            throw new KenException($"{source}: a classification delta needs its labels in metadata '{LabelsKey}', but the list is empty; {Fix} from a model whose config.json has id2label.");
        }

        if (string.IsNullOrWhiteSpace(CreatedBy))
        {
            throw new KenException($"{source}: metadata '{CreatedByKey}' is empty; {Fix}.");
        }

        foreach (var key in Extra.Keys)
        {
            if (ReservedKeys.Contains(key) || key.StartsWith(BaseFingerprintPrefix, StringComparison.Ordinal) || key.StartsWith(ShapePrefix, StringComparison.Ordinal))
            {
                throw new KenException($"{source}: extra metadata key '{key}' collides with a key the format defines; remove it from Extra.");
            }
        }
    }

    /// <summary>The task-level keys as safetensors metadata (validated first).</summary>
    public Dictionary<string, string> ToDictionary(string source = "delta metadata")
    {
        Validate(source);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in Extra)
        {
            result.Add(key, value);
        }

        result[FormatKey] = FormatValue;
        result[VersionKey] = Version;
        result[TaskKey] = Task;
        result[KindKey] = ToText(Kind);
        result[LabelsKey] = FormatLabels(Labels);
        result[PoolingKey] = ToText(Pooling);
        result[NormalizeKey] = Normalize ? "true" : "false";
        if (K is { } k)
        {
            result[KKey] = k.ToString(CultureInfo.InvariantCulture);
        }

        if (Keep is { } keep)
        {
            result[KeepKey] = keep.ToString("R", CultureInfo.InvariantCulture);
        }

        result[MethodKey] = Method;
        if (Seed is { } seed)
        {
            result[SeedKey] = seed.ToString(CultureInfo.InvariantCulture);
        }

        if (Block is { } blockSize)
        {
            result[BlockKey] = blockSize.ToString(CultureInfo.InvariantCulture);
        }

        result[CreatedByKey] = CreatedBy;
        if (BaseModel is not null)
        {
            result[BaseModelKey] = BaseModel;
        }

        return result;
    }

    private static string FormatLabels(IReadOnlyList<string> labels)
    {
        var buffer = new ArrayBufferWriter<byte>();

        // Relaxed escaping keeps non-ASCII labels readable in other safetensors tools.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartArray();
            foreach (var label in labels)
            {
                json.WriteStringValue(label);
            }

            json.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static List<string>? ParseLabels(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            var labels = new List<string>(document.RootElement.GetArrayLength());
            foreach (var item in document.RootElement.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String)
                {
                    return null;
                }

                labels.Add(item.GetString()!);
            }

            return labels;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
