using Ken.Format.Checkpoints;

namespace Ken.Pruning.Pipeline;

/// <summary>
/// One base/fine-tuned tensor pair read into float buffers and checked: whether it is selected
/// (differs and passes the globs), and then its base fingerprint and output dtype.
/// </summary>
internal sealed record LoadedPair(
    TensorPair Pair,
    float[] Base,
    float[] Finetuned,
    bool Selected,
    ulong Fingerprint,
    TensorDType DType);
