using Ken.Format.Deltas;

namespace Ken.Evaluation;

/// <summary>Everything one evaluation measured: the dense reference first, then each budget × method.</summary>
public sealed record EvalReport
{
    public required string BaseModel { get; init; }

    public required string Finetuned { get; init; }

    public required TaskKind Kind { get; init; }

    public required IReadOnlyList<string> Labels { get; init; }

    public required int Examples { get; init; }

    public required int MaxSequenceLength { get; init; }

    public required long Seed { get; init; }

    public required IReadOnlyList<EvalResult> Results { get; init; }

    public EvalResult Dense => Results[0];
}
