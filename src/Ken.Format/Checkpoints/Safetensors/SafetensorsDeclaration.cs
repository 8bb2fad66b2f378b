namespace Ken.Format.Checkpoints.Safetensors;

/// <summary>
/// A tensor to be written by <see cref="SafetensorsWriter"/>: name, safetensors dtype string and
/// shape. Its byte size follows from them; its offsets from the declaration order.
/// </summary>
public sealed record SafetensorsDeclaration(string Name, string DType, IReadOnlyList<long> Shape)
{
    public SafetensorsDeclaration(string name, TensorDType dtype, IReadOnlyList<long> shape)
        : this(name, FloatEncoding.ToSafetensorsName(dtype), shape)
    {
    }

    /// <summary>Bytes the tensor occupies: dtype size × product of the shape.</summary>
    public long ByteLength
    {
        get
        {
            long n = SafetensorsDTypes.SizeOf(DType);
            foreach (var d in Shape)
            {
                n = checked(n * d);
            }

            return n;
        }
    }
}
