namespace Ken.Pruning.Selection;

/// <summary>Which elements a block of <c>--block B</c> groups (<c>--block-layout</c>).</summary>
public enum BlockLayout
{
    /// <summary>
    /// Blocks follow the layout the backbone serves the tensor in: B consecutive elements of a row where
    /// rows are stored as rows, and B consecutive rows at one column where the tensor is stored transposed
    /// (an ONNX MatMul weight), so that every block is one contiguous run in memory. The default.
    /// </summary>
    Serving,

    /// <summary>B consecutive elements of a canonical row, however the tensor is stored.</summary>
    Rows,
}
