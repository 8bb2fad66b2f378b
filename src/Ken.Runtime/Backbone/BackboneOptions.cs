using Ken.Runtime.Patching;

namespace Ken.Runtime.Backbone;

/// <summary>How to load the resident backbone.</summary>
public sealed record BackboneOptions
{
    /// <summary>The ONNX encoder (inputs <c>input_ids</c>, <c>attention_mask</c>, optional <c>token_type_ids</c>; output <c>last_hidden_state</c>).</summary>
    public required string ModelPath { get; init; }

    /// <summary>The backbone's WordPiece <c>vocab.txt</c>.</summary>
    public required string VocabPath { get; init; }

    /// <summary>A short name for the backbone in messages (e.g. <c>minilm</c>); null: the model path.</summary>
    public string? Name { get; init; }

    /// <summary>Weight slots: tasks that can be materialized at once. Each costs one copy of the weights. <see cref="SlotMemory"/> overrides it.</summary>
    public int Slots { get; init; } = 2;

    /// <summary>
    /// Bytes for materialized weight sets: as many slots as fit (at least one) for backends whose slots hold
    /// weights; null: <see cref="Slots"/>.
    /// </summary>
    public long? SlotMemory { get; init; }

    /// <summary>Most texts per run.</summary>
    public int MaxBatchSize { get; init; } = 32;

    /// <summary>Longest token sequence; null: min(512, rows of the position embeddings).</summary>
    public int? MaxSequenceLength { get; init; }

    /// <summary>ONNX Runtime intra-op threads per run; null: ONNX Runtime's default (all cores).</summary>
    public int? IntraOpThreads { get; init; }

    /// <summary>How many slots to create when each holds <paramref name="slotBytes"/> of weights (0: slots hold none).</summary>
    public int SlotCountFor(long slotBytes) =>
        SlotMemory is { } memory && slotBytes > 0 ? (int)Math.Clamp(memory / slotBytes, 1, 1024) : Slots;

    /// <summary>The patcher; null: <see cref="CpuWeightPatcher"/> on all cores.</summary>
    public IWeightPatcher? Patcher { get; init; }
}
