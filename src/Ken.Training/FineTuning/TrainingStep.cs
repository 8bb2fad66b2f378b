namespace Ken.Training.FineTuning;

/// <summary>Progress after one optimizer step: its loss, the learning rate it used, and the texts per second so far.</summary>
public readonly record struct TrainingStep(int Step, int TotalSteps, int Epoch, double Loss, double LearningRate, double TextsPerSecond);
