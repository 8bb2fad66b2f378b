using Ken.Format.Checkpoints;
using Ken.Format.Deltas;

namespace Ken.Evaluation;

/// <summary>
/// Recovery training of a pruned delta's kept values (<c>ken eval --recover-data</c>): given the delta, the
/// base and the sequence length the evaluation runs at (<c>--max-length</c>, else the fine-tuned model's
/// training length; null when neither is known), returns the recovered delta under the same masks, calling
/// <paramref name="onStep"/> (when given) after each training step with the steps done and their total.
/// </summary>
public delegate KenDelta DeltaRecovery(KenDelta delta, ICheckpoint baseModel, int? trainingLength, Action<long, long>? onStep, CancellationToken cancellationToken);
