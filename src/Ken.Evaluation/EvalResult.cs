using Ken.Pruning.Pipeline;

namespace Ken.Evaluation;

/// <summary>
/// One evaluated delta. <see cref="Method"/> is <c>dense</c> for the reference (every fine-tuned value
/// kept); classification fills accuracy and macro-F1, embedding the cosines to the dense embeddings.
/// </summary>
public sealed record EvalResult
{
    public const string DenseMethod = "dense";

    public required string Method { get; init; }

    public required PruneBudget Budget { get; init; }

    /// <summary>Elements per selected block; 1: element by element.</summary>
    public int Block { get; init; } = 1;

    /// <summary>Reset elements / elements of the patched tensors.</summary>
    public required double FractionReset { get; init; }

    /// <summary>Size of the delta written as a <c>.ken</c> file.</summary>
    public required long KenBytes { get; init; }

    /// <summary>sum ||W_kept − W_ft||² / sum ||W_ft − W_base||² over patched tensors.</summary>
    public required double ReconstructionError { get; init; }

    public double? Accuracy { get; init; }

    public double? MacroF1 { get; init; }

    public double? MeanCosine { get; init; }

    public double? MinCosine { get; init; }

    public double PruneSeconds { get; init; }

    public double RunSeconds { get; init; }
}
