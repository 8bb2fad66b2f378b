namespace Ken.Format.Checkpoints;

/// <summary>One tensor as the base checkpoint names it and as the fine-tuned checkpoint names it.</summary>
public sealed record TensorNamePair(string BaseName, string FineTunedName);
