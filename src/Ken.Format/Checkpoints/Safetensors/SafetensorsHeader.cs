using System.Text.Json;

namespace Ken.Format.Checkpoints.Safetensors;

/// <summary>
/// The parsed and validated JSON header of a safetensors file. Validation is complete here so that
/// nothing downstream ever reads outside the data section or misinterprets a tensor's bytes.
/// </summary>
internal sealed class SafetensorsHeader
{
    /// <summary>The same cap the Hugging Face implementation applies, so a corrupt length cannot make us allocate gigabytes.</summary>
    public const long MaxHeaderLength = 100_000_000;

    private const string Fix = "re-export the file or download it again";

    private SafetensorsHeader(List<SafetensorsEntry> entries, Dictionary<string, string> metadata)
    {
        Entries = entries;
        Metadata = metadata;
    }

    /// <summary>Entries in header order.</summary>
    public List<SafetensorsEntry> Entries { get; }

    public Dictionary<string, string> Metadata { get; }

    /// <summary>Parses <paramref name="json"/>; every tensor must lie within <paramref name="dataLength"/> bytes.</summary>
    public static SafetensorsHeader Parse(ReadOnlySpan<byte> json, long dataLength, string source)
    {
        // JsonDocument checks strings' UTF-8 only when they are read, and then throws InvalidOperationException.
        if (!System.Text.Unicode.Utf8.IsValid(json))
        {
            throw new KenException($"{source} is not a safetensors file: its header is not valid UTF-8 text; {Fix}.");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException ex)
        {
            throw new KenException($"{source} is not a safetensors file: its header is not valid JSON ({ex.Message}); {Fix}.", ex);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new KenException($"{source} is not a safetensors file: its header is JSON {root.ValueKind}, not an object; {Fix}.");
            }

            var entries = new List<SafetensorsEntry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (!names.Add(property.Name))
                {
                    throw new KenException($"{source}: the header lists '{property.Name}' twice; {Fix}.");
                }

                if (property.Name == "__metadata__")
                {
                    ParseMetadata(property.Value, metadata, source);
                }
                else
                {
                    entries.Add(ParseEntry(property.Name, property.Value, dataLength, source));
                }
            }

            CheckOverlaps(entries, source);
            return new SafetensorsHeader(entries, metadata);
        }
    }

    private static void ParseMetadata(JsonElement value, Dictionary<string, string> metadata, string source)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new KenException($"{source}: the header's __metadata__ is JSON {value.ValueKind}, not an object of strings; {Fix}.");
        }

        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
            {
                throw new KenException($"{source}: metadata key '{item.Name}' holds JSON {item.Value.ValueKind}, but safetensors metadata values must be strings; {Fix}.");
            }

            if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
            {
                throw new KenException($"{source}: metadata key '{item.Name}' appears twice; {Fix}.");
            }
        }
    }

    private static SafetensorsEntry ParseEntry(string name, JsonElement value, long dataLength, string source)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Bad(name, $"its header entry is JSON {value.ValueKind}, not an object");
        }

        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
        {
            throw Bad(name, "its header entry has no \"dtype\" string");
        }

        string dtype = dtypeElement.GetString()!;
        int elementSize = SafetensorsDTypes.SizeOf(dtype);
        if (elementSize == 0)
        {
            throw Bad(name, $"its dtype \"{dtype}\" is not one Ken knows (F32, F16, BF16, F64, I/U8..64, BOOL, F8_*)");
        }

        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
        {
            throw Bad(name, "its header entry has no \"shape\" array");
        }

        var shape = new long[shapeElement.GetArrayLength()];
        long elements = 1;
        int axis = 0;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long d) || d < 0)
            {
                throw Bad(name, $"its shape has a dimension that is not a non-negative integer ({dim.GetRawText()})");
            }

            shape[axis++] = d;
            elements = d == 0 || elements == 0 ? 0 : elements > long.MaxValue / d ? -1 : elements * d;
            if (elements < 0)
            {
                throw Bad(name, "its shape is too large to address");
            }
        }

        if (!value.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array || offsetsElement.GetArrayLength() != 2)
        {
            throw Bad(name, "its header entry has no \"data_offsets\" pair");
        }

        if (offsetsElement[0].ValueKind != JsonValueKind.Number || offsetsElement[1].ValueKind != JsonValueKind.Number
            || !offsetsElement[0].TryGetInt64(out long begin) || !offsetsElement[1].TryGetInt64(out long end) || begin < 0 || end < 0)
        {
            throw Bad(name, "its data_offsets are not non-negative integers");
        }

        if (begin > end)
        {
            throw Bad(name, $"its data_offsets [{begin}, {end}] begin after they end");
        }

        if (end > dataLength)
        {
            throw Bad(name, $"its data_offsets [{begin}, {end}] run past the end of the data section ({dataLength} bytes), so the file is truncated");
        }

        if (elements > long.MaxValue / elementSize || elements * elementSize != end - begin)
        {
            throw Bad(name, $"it holds {end - begin} bytes but {dtype} with shape [{string.Join(", ", shape)}] needs {(elements > long.MaxValue / elementSize ? "more" : (elements * elementSize).ToString(System.Globalization.CultureInfo.InvariantCulture))}");
        }

        return new SafetensorsEntry(name, dtype, shape, begin, end);

        KenException Bad(string tensor, string what) =>
            new($"{source}: tensor '{tensor}' is invalid: {what}; {Fix}.");
    }

    private static void CheckOverlaps(List<SafetensorsEntry> entries, string source)
    {
        var byOffset = entries.ToArray();
        Array.Sort(byOffset, static (a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        for (int i = 1; i < byOffset.Length; i++)
        {
            var previous = byOffset[i - 1];
            var current = byOffset[i];
            if (current.Begin < previous.End)
            {
                throw new KenException(
                    $"{source}: tensors '{previous.Name}' [{previous.Begin}, {previous.End}] and '{current.Name}' [{current.Begin}, {current.End}] overlap in the data section; {Fix}.");
            }
        }
    }
}
