namespace Ken.Evaluation;

/// <summary>One row of an evaluation file: its 1-based line number (for messages), its text and, for classification, its gold label name.</summary>
public sealed record EvalExample(int Line, string Text, string? Label);
