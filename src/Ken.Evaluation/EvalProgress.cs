namespace Ken.Evaluation;

/// <summary>Progress of the current step (<see cref="Step"/>, e.g. <c>ken keep=0.5: prune</c>): done out of total units.</summary>
public readonly record struct EvalProgress(string Step, long Done, long Total, int StepIndex, int StepCount);
