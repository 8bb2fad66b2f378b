namespace Ken.Format.Checkpoints.Safetensors;

/// <summary>
/// One tensor of a safetensors file, whatever its dtype: its name, dtype string as stored, shape and
/// byte range relative to the start of the data section (after the header).
/// </summary>
public sealed record SafetensorsEntry(string Name, string DType, IReadOnlyList<long> Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;

    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (var d in Shape)
            {
                n *= d;
            }

            return n;
        }
    }

    /// <summary>The float dtype when this entry is F32, F16 or BF16, else null.</summary>
    public TensorDType? FloatDType => FloatEncoding.TryParseSafetensorsName(DType, out var dtype) ? dtype : null;
}
