namespace Ken.Format.Checkpoints;

/// <summary>How the tensors of a base and a fine-tuned checkpoint correspond, by name only.</summary>
/// <param name="Pairs">Tensors present in both, in base order.</param>
/// <param name="HeadTensors">Fine-tuned tensors with no base counterpart (a task head), in fine-tuned order.</param>
/// <param name="BaseOnlyTensors">Base tensors the fine-tuned checkpoint lacks, in base order.</param>
/// <param name="FineTunedPrefix">The prefix stripped from fine-tuned names (<c>bert.</c>), or null.</param>
/// <param name="BasePrefix">The prefix stripped from base names, or null.</param>
public sealed record CheckpointNameMatch(
    IReadOnlyList<TensorNamePair> Pairs,
    IReadOnlyList<string> HeadTensors,
    IReadOnlyList<string> BaseOnlyTensors,
    string? FineTunedPrefix,
    string? BasePrefix);
