using Ken.Format.Checkpoints;

namespace Ken.Pruning.Pipeline;

/// <summary>A base tensor and the fine-tuned tensor matched to it (canonical base name, same shape).</summary>
internal readonly record struct TensorPair(TensorInfo Base, TensorInfo Finetuned);
