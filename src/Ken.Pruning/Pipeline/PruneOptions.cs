using Ken.Format.Checkpoints;

namespace Ken.Pruning.Pipeline;

/// <summary>Everything <c>ken prune</c> needs besides the two checkpoints.</summary>
public sealed record PruneOptions
{
    public required PruneBudget Budget { get; init; }

    /// <summary>Selection method: <c>ken</c> (default), <c>magnitude</c> or <c>random</c>.</summary>
    public string Method { get; init; } = "ken";

    /// <summary>
    /// Select aligned blocks of this many elements of a row, kept or reset together (<c>magnitude</c>
    /// and <c>random</c> only; recorded in the metadata); 1: element by element.
    /// </summary>
    public int Block { get; init; } = 1;

    /// <summary>
    /// Which elements a block groups: by default the layout the base serves each tensor in (a tensor the
    /// base stores transposed, an ONNX MatMul weight, keeps the same positions in aligned groups of
    /// <see cref="Block"/> rows), or canonical rows.
    /// </summary>
    public Selection.BlockLayout BlockLayout { get; init; } = Selection.BlockLayout.Serving;

    /// <summary>Seed of the <c>random</c> method (recorded in the metadata).</summary>
    public long Seed { get; init; }

    /// <summary>Globs limiting which tensors are patched (empty: all); the rest stay pre-trained.</summary>
    public IReadOnlyList<TensorGlob> Include { get; init; } = [];

    public IReadOnlyList<TensorGlob> Exclude { get; init; } = [];

    /// <summary>The task's name; defaults to the output file's name.</summary>
    public string? Task { get; init; }

    /// <summary><c>classification</c> or <c>embedding</c>; null: classification when the fine-tuned model has a head.</summary>
    public string? Kind { get; init; }

    /// <summary><c>pooler</c>, <c>cls</c> or <c>mean</c>; null: pooler for classification, mean for embedding.</summary>
    public string? Pooling { get; init; }

    public bool Normalize { get; init; }

    /// <summary>Label names; null: from the fine-tuned model's <c>config.json</c> <c>id2label</c>.</summary>
    public IReadOnlyList<string>? Labels { get; init; }

    /// <summary>Stored dtype of kept values and heads; null: each fine-tuned tensor's own dtype.</summary>
    public TensorDType? ValuesDType { get; init; }

    /// <summary>A name for the base, recorded in the metadata (e.g. <c>minilm</c> or a path).</summary>
    public string? BaseModel { get; init; }

    /// <summary>Worker threads for row selection; null: all cores.</summary>
    public int? MaxDegreeOfParallelism { get; init; }
}
