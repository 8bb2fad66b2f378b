namespace Ken.Training.FineTuning;

/// <summary>What <c>ken finetune</c> trains with (its flags and their defaults).</summary>
public sealed record FineTuneOptions
{
    public int Epochs { get; init; } = 3;

    /// <summary>Peak learning rate of AdamW, reached after the warm-up and decayed linearly to 0.</summary>
    public double LearningRate { get; init; } = 5e-5;

    public int BatchSize { get; init; } = 16;

    /// <summary>Longest token sequence; longer texts are truncated.</summary>
    public int MaxLength { get; init; } = 128;

    /// <summary>Seeds the head's initialization and the order of the rows.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Share of the steps spent warming the learning rate up from 0.</summary>
    public double WarmupFraction { get; init; } = 0.1;

    public double WeightDecay { get; init; } = 0.01;

    /// <summary><c>pooler</c>, <c>cls</c> or <c>mean</c>.</summary>
    public string Pooling { get; init; } = "pooler";

    /// <summary>Stop after this many steps (null: every epoch); for tests and quick looks.</summary>
    public int? MaxSteps { get; init; }
}
