using Ken.Runtime.Heads;

namespace Ken.Runtime.Tasks;

/// <summary>
/// The result of one batch for one task: per text, an embedding (embedding tasks) or a
/// classification (classification tasks), and whether the text was truncated.
/// </summary>
public sealed record TaskOutput(
    IReadOnlyList<float[]>? Embeddings,
    IReadOnlyList<ClassificationResult>? Classifications,
    IReadOnlyList<bool> Truncated,
    int Tokens);
