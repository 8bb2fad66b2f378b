using Ken.Format.Checkpoints;

namespace Ken.Format.Deltas;

/// <summary>A tensor a delta stores whole (classification head, tensors absent from the base).</summary>
public sealed class HeadTensor
{
    /// <exception cref="ArgumentException">The data length is not the shape's element count.</exception>
    public HeadTensor(string name, IReadOnlyList<long> shape, float[] data, TensorDType dtype)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        long elements = 1;
        foreach (var d in shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(d, nameof(shape));
            elements = checked(elements * d);
        }

        if (elements != data.Length)
        {
            throw new ArgumentException($"Tensor '{name}' has shape [{string.Join(", ", shape)}] ({elements} elements) but {data.Length} values.", nameof(data));
        }

        _ = FloatEncoding.SizeOf(dtype);
        Name = name;
        Shape = shape.ToArray();
        Data = data;
        DType = dtype;
    }

    /// <summary>Canonical name (without the <c>head/</c> prefix).</summary>
    public string Name { get; }

    public IReadOnlyList<long> Shape { get; }

    /// <summary>All elements, row-major, as float32.</summary>
    public float[] Data { get; }

    /// <summary>How the tensor is stored in the file.</summary>
    public TensorDType DType { get; }
}
