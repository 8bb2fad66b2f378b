using System.Text.Json;
using Ken.Format;
using Ken.Format.Checkpoints;
using Ken.Format.Deltas;

namespace Ken.Pruning.Pipeline;

/// <summary>Fills a delta's metadata from the options, with defaults read from the fine-tuned model.</summary>
internal static class DeltaMetadataFactory
{
    public static KenDeltaMetadata Create(PruneOptions options, ICheckpoint finetuned, IReadOnlyList<HeadTensor> heads)
    {
        var kind = options.Kind switch
        {
            null => heads.Count > 0 ? TaskKind.Classification : TaskKind.Embedding,
            "classification" => TaskKind.Classification,
            "embedding" => TaskKind.Embedding,
            _ => throw new KenException($"--kind {options.Kind} is not known; use classification or embedding."),
        };

        var pooling = options.Pooling switch
        {
            null => kind == TaskKind.Classification ? PoolingMode.Pooler : PoolingMode.Mean,
            "pooler" => PoolingMode.Pooler,
            "cls" => PoolingMode.Cls,
            "mean" => PoolingMode.Mean,
            _ => throw new KenException($"--pooling {options.Pooling} is not known; use pooler, cls or mean."),
        };

        // Every BERT config carries a default id2label, so labels are read only for classifiers.
        var labels = options.Labels ?? (kind == TaskKind.Classification ? LabelsFromConfig(finetuned.ConfigJson) : null) ?? [];
        if (kind == TaskKind.Classification)
        {
            if (labels.Count == 0)
            {
                throw new KenException(
                    $"a classification task needs label names and {finetuned.Source} has no config.json with id2label; pass --labels a,b,...");
            }

            if (heads.Count == 0)
            {
                throw new KenException(
                    $"{finetuned.Source} has no head tensors (tensors absent from the base, e.g. classifier.*), so it cannot classify; "
                    + "use --kind embedding, or pass the fine-tuned classifier checkpoint.");
            }
        }

        return new KenDeltaMetadata
        {
            Task = options.Task ?? "task",
            Kind = kind,
            Labels = labels,
            Pooling = pooling,
            Normalize = options.Normalize,
            K = options.Budget.K,
            Keep = options.Budget.Keep,
            Method = options.Method,
            Seed = options.Method == "random" ? options.Seed : null,
            Block = options.Block > 1 ? options.Block : null,
            BaseModel = options.BaseModel,
            CreatedBy = "ken " + typeof(DeltaBuilder).Assembly.GetName().Version,
        };
    }

    /// <summary>Label names from a Hugging Face config's <c>id2label</c>, ordered by id; null when absent.</summary>
    public static IReadOnlyList<string>? LabelsFromConfig(string? configJson)
    {
        if (configJson is null)
        {
            return null;
        }

        using var doc = JsonDocument.Parse(configJson);
        if (!doc.RootElement.TryGetProperty("id2label", out var map) || map.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var byId = new SortedDictionary<int, string>();
        foreach (var p in map.EnumerateObject())
        {
            if (int.TryParse(p.Name, out int id) && p.Value.ValueKind == JsonValueKind.String)
            {
                byId[id] = p.Value.GetString()!;
            }
        }

        return byId.Count == 0 ? null : [.. byId.Values];
    }
}
