namespace Ken.Format.Checkpoints.Onnx;

/// <summary>Where a run of bytes lies in a file: its first byte's offset and its length.</summary>
internal readonly record struct OnnxByteRange(long Offset, long Length);
