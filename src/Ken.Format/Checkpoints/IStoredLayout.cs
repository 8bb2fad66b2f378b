namespace Ken.Format.Checkpoints;

/// <summary>
/// A checkpoint that knows how its tensors are laid out in memory where they are served: an ONNX graph
/// stores the weight of a MatMul as <c>[in, out]</c>, the transpose of the canonical <c>[out, in]</c>,
/// so a canonical row is a column there. Block selection follows this layout (docs/SELECTION.md).
/// </summary>
public interface IStoredLayout
{
    /// <summary>Whether the tensor with canonical name <paramref name="name"/> is stored transposed.</summary>
    bool IsStoredTransposed(string name);
}
