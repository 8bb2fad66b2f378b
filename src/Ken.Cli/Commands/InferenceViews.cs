namespace Ken.Cli.Commands;

// The JSON shapes of `ken classify --json` and `ken embed --json` (snake_case).
internal sealed record ClassifyView(string Task, IReadOnlyList<ClassificationView> Results);

internal sealed record ClassificationView(string Text, string Label, float Score, IReadOnlyList<LabelScoreView> Scores, bool Truncated);

internal sealed record LabelScoreView(string Label, float Score);

internal sealed record EmbedView(string Task, IReadOnlyList<EmbeddingView> Embeddings);

internal sealed record EmbeddingView(string Text, int Dim, IReadOnlyList<float> Values, bool Truncated);
