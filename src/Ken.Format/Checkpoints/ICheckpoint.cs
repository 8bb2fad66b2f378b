namespace Ken.Format.Checkpoints;

/// <summary>
/// A read-only set of named float tensors in canonical names and layout, whatever the file format
/// (safetensors file, Hugging Face folder, ONNX model).
/// </summary>
public interface ICheckpoint : IDisposable
{
    /// <summary>Where the tensors came from (a path or a default model name), for messages.</summary>
    string Source { get; }

    /// <summary>Every tensor, in the order of the underlying file.</summary>
    IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>The model's <c>config.json</c> as raw JSON when one sits next to it, else null.</summary>
    string? ConfigJson { get; }

    bool TryGetInfo(string name, out TensorInfo info);

    /// <summary>
    /// Reads a tensor converted to float32, in canonical layout, into <paramref name="destination"/>
    /// (length = element count). Throws <see cref="KenException"/> naming the tensor if it is unknown.
    /// </summary>
    void ReadFloat32(string name, Span<float> destination);
}
