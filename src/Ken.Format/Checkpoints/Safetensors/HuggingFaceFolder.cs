using System.Text.Json;

namespace Ken.Format.Checkpoints.Safetensors;

/// <summary>
/// A Hugging Face model folder: <c>model.safetensors</c>, or shards listed by
/// <c>model.safetensors.index.json</c>, plus <c>config.json</c>. Tensors keep their stored names.
/// </summary>
public sealed class HuggingFaceFolder : ICheckpoint
{
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";
    public const string ConfigFileName = "config.json";

    private readonly SafetensorsFile[] _shards;
    private readonly Dictionary<string, SafetensorsFile> _shardByTensor;
    private readonly Dictionary<string, TensorInfo> _infos;

    private HuggingFaceFolder(string folder, SafetensorsFile[] shards, Dictionary<string, SafetensorsFile> shardByTensor, List<TensorInfo> tensors, string? configJson)
    {
        Source = folder;
        _shards = shards;
        _shardByTensor = shardByTensor;
        Tensors = tensors;
        ConfigJson = configJson;
        _infos = new Dictionary<string, TensorInfo>(tensors.Count, StringComparer.Ordinal);
        foreach (var info in tensors)
        {
            _infos.Add(info.Name, info);
        }
    }

    public string Source { get; }

    /// <summary>Float tensors, shard by shard (in the order the index first names each shard), each in file order.</summary>
    public IReadOnlyList<TensorInfo> Tensors { get; }

    public string? ConfigJson { get; }

    /// <summary>The opened safetensors files (one, or the shards).</summary>
    public IReadOnlyList<SafetensorsFile> Files => _shards;

    /// <summary>Opens and validates the folder and every weight file in it.</summary>
    public static HuggingFaceFolder Open(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new KenException(File.Exists(folder)
                ? $"{folder} is a file, not a model folder; pass the folder that holds {SingleFileName} and {ConfigFileName}, or open the file as a safetensors file."
                : $"Model folder {folder} does not exist; check the path.");
        }

        string configPath = Path.Combine(folder, ConfigFileName);
        string? configJson = File.Exists(configPath) ? File.ReadAllText(configPath) : null;

        string single = Path.Combine(folder, SingleFileName);
        string index = Path.Combine(folder, IndexFileName);
        if (File.Exists(single))
        {
            var file = SafetensorsFile.Open(single);
            var byTensor = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            foreach (var info in file.Tensors)
            {
                byTensor.Add(info.Name, file);
            }

            return new HuggingFaceFolder(folder, [file], byTensor, [.. file.Tensors], configJson);
        }

        if (File.Exists(index))
        {
            return OpenSharded(folder, index, configJson);
        }

        string hint = File.Exists(Path.Combine(folder, "pytorch_model.bin"))
            ? " It has pytorch_model.bin: convert it to safetensors first (e.g. save_pretrained(..., safe_serialization=True))."
            : string.Empty;
        throw new KenException($"Model folder {folder} has no weights: looked for {SingleFileName} and {IndexFileName} (with its model-0000x-of-0000y.safetensors shards).{hint} Point Ken at a folder saved by Hugging Face save_pretrained.");
    }

    public bool TryGetInfo(string name, out TensorInfo info)
    {
        if (_infos.TryGetValue(name, out var found))
        {
            info = found;
            return true;
        }

        info = null!;
        return false;
    }

    public void ReadFloat32(string name, Span<float> destination)
    {
        if (!_shardByTensor.TryGetValue(name, out var shard))
        {
            throw new KenException($"Model folder {Source} has no float tensor '{name}'; check the name, or use a checkpoint that contains it.");
        }

        shard.ReadFloat32(name, destination);
    }

    public void Dispose()
    {
        foreach (var shard in _shards)
        {
            shard.Dispose();
        }
    }

    private static HuggingFaceFolder OpenSharded(string folder, string indexPath, string? configJson)
    {
        var weightMap = ReadWeightMap(indexPath);
        var shardOrder = new List<string>();
        var tensorsByShard = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (tensor, shardName) in weightMap)
        {
            if (!tensorsByShard.TryGetValue(shardName, out var set))
            {
                set = new HashSet<string>(StringComparer.Ordinal);
                tensorsByShard.Add(shardName, set);
                shardOrder.Add(shardName);
            }

            set.Add(tensor);
        }

        var shards = new List<SafetensorsFile>(shardOrder.Count);
        try
        {
            var shardByTensor = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            var tensors = new List<TensorInfo>();
            foreach (var shardName in shardOrder)
            {
                if (shardName.Contains('/', StringComparison.Ordinal) || shardName.Contains('\\', StringComparison.Ordinal) || shardName is "." or "..")
                {
                    throw new KenException($"{indexPath} maps tensors to '{shardName}', which is not a file name in the folder; re-save the model with save_pretrained.");
                }

                string shardPath = Path.Combine(folder, shardName);
                if (!File.Exists(shardPath))
                {
                    throw new KenException($"{indexPath} lists shard {shardName}, but {shardPath} does not exist; download the missing shard.");
                }

                var shard = SafetensorsFile.Open(shardPath);
                shards.Add(shard);
                var wanted = tensorsByShard[shardName];
                foreach (var entry in shard.Entries)
                {
                    if (wanted.Remove(entry.Name) && shard.TryGetInfo(entry.Name, out var info))
                    {
                        tensors.Add(info);
                        shardByTensor.Add(entry.Name, shard);
                    }
                }

                foreach (var missing in wanted)
                {
                    throw new KenException($"{indexPath} places tensor '{missing}' in {shardName}, but that shard does not contain it; download the model again.");
                }
            }

            return new HuggingFaceFolder(folder, [.. shards], shardByTensor, tensors, configJson);
        }
        catch
        {
            foreach (var shard in shards)
            {
                shard.Dispose();
            }

            throw;
        }
    }

    private static List<KeyValuePair<string, string>> ReadWeightMap(string indexPath)
    {
        const string Fix = "re-save the model with save_pretrained or download the index again";
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("weight_map", out var map)
                || map.ValueKind != JsonValueKind.Object)
            {
                throw new KenException($"{indexPath} has no \"weight_map\" object; {Fix}.");
            }

            var result = new List<KeyValuePair<string, string>>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var item in map.EnumerateObject())
            {
                if (item.Value.ValueKind != JsonValueKind.String)
                {
                    throw new KenException($"{indexPath}: weight_map entry for tensor '{item.Name}' is not a file name; {Fix}.");
                }

                if (!seen.Add(item.Name))
                {
                    throw new KenException($"{indexPath}: weight_map lists tensor '{item.Name}' twice; {Fix}.");
                }

                result.Add(new KeyValuePair<string, string>(item.Name, item.Value.GetString()!));
            }

            return result;
        }
        catch (JsonException ex)
        {
            throw new KenException($"{indexPath} is not valid JSON ({ex.Message}); {Fix}.", ex);
        }
    }
}
