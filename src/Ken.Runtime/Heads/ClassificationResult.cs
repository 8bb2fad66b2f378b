namespace Ken.Runtime.Heads;

/// <summary>One text's classification: the best label and the probability of every label, in label order.</summary>
public sealed record ClassificationResult(int LabelIndex, string Label, float Score, float[] Scores);
