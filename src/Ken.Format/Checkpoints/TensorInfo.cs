namespace Ken.Format.Checkpoints;

/// <summary>
/// A tensor's canonical name (Hugging Face state_dict spelling), element type and shape in canonical
/// (PyTorch <c>[out, in]</c>) layout.
/// </summary>
public sealed record TensorInfo(string Name, TensorDType DType, IReadOnlyList<long> Shape)
{
    /// <summary>Number of elements.</summary>
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

    /// <summary>
    /// Length of one KEN row: the last dimension (the fan-in of one output neuron); a 1-D or scalar
    /// tensor is a single row.
    /// </summary>
    public long RowLength => Shape.Count == 0 ? 1 : Shape[^1];

    /// <summary>Number of rows (<see cref="ElementCount"/> / <see cref="RowLength"/>).</summary>
    public long RowCount => RowLength == 0 ? 0 : ElementCount / RowLength;

    /// <summary>The shape as text, e.g. <c>[384, 1536]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    public bool SameShape(TensorInfo other) => Shape.SequenceEqual(other.Shape);
}
