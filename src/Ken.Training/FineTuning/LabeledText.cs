namespace Ken.Training.FineTuning;

/// <summary>One training or evaluation row: a text and the index of its label.</summary>
public readonly record struct LabeledText(string Text, int Label);
