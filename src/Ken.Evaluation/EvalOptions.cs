using Ken.Pruning.Pipeline;

namespace Ken.Evaluation;

/// <summary>What <c>ken eval</c> compares: one base and one fine-tuned checkpoint, at every budget × method.</summary>
public sealed record EvalOptions
{
    /// <summary>The base: an ONNX encoder path or a default model name (it is also the serving backbone).</summary>
    public required string BaseModel { get; init; }

    /// <summary>The fine-tuned checkpoint, any form <c>ken prune</c> accepts.</summary>
    public required string Finetuned { get; init; }

    public required IReadOnlyList<PruneBudget> Budgets { get; init; }

    /// <summary>Selection methods, in report order.</summary>
    public IReadOnlyList<string> Methods { get; init; } = ["ken"];

    /// <summary>
    /// Above 1: every method that can select in blocks (magnitude, random) is also evaluated in aligned
    /// blocks of this many elements, beside its element-wise run, at the same budgets.
    /// </summary>
    public int Block { get; init; } = 1;

    /// <summary>Which elements a block groups (<c>--block-layout</c>): the base's stored layout (default) or canonical rows.</summary>
    public Ken.Pruning.Selection.BlockLayout BlockLayout { get; init; } = Ken.Pruning.Selection.BlockLayout.Serving;

    /// <summary>
    /// Recovery training (<c>--recover-data</c>): when set, every pruned delta is also evaluated after this
    /// returns its recovered version, labelled <c>method+rec</c>. A delegate, so that evaluation does not
    /// depend on the training library.
    /// </summary>
    public DeltaRecovery? Recover { get; init; }

    /// <summary>Seed of the <c>random</c> method.</summary>
    public long Seed { get; init; }

    /// <summary>The backbone's vocabulary; null: the default model's, or vocab.txt next to the ONNX file.</summary>
    public string? Vocab { get; init; }

    /// <summary>Pooling of the deltas; null: what <c>ken prune</c> picks.</summary>
    public string? Pooling { get; init; }

    public bool Normalize { get; init; }

    /// <summary>Longest token sequence; null: the fine-tuned config's <c>max_length</c> (its training length), else the backbone's.</summary>
    public int? MaxSequenceLength { get; init; }

    public int MaxBatchSize { get; init; } = 32;

    /// <summary>Worker threads for selection and ONNX Runtime; null: all cores.</summary>
    public int? Threads { get; init; }
}
