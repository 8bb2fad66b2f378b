using Ken.Format.Deltas;

namespace Ken.Viz;

/// <summary>
/// A patched tensor's bitmap seen as a matrix: rows are the first dimension (the output neurons of
/// the canonical <c>[out, in]</c> layout), columns everything after it; a 1-D tensor is one row.
/// </summary>
public sealed class MaskMatrix
{
    public MaskMatrix(string name, byte[] mask, int rows, int columns)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        if (mask.Length != MaskBits.ByteLength((long)rows * columns))
        {
            throw new ArgumentException($"A {rows}x{columns} mask needs {MaskBits.ByteLength((long)rows * columns)} bytes, not {mask.Length}.", nameof(mask));
        }

        Name = name;
        Mask = mask;
        Rows = rows;
        Columns = columns;
    }

    public string Name { get; }

    /// <summary>The delta's bitmap, LSB-first, row-major.</summary>
    public byte[] Mask { get; }

    public int Rows { get; }

    public int Columns { get; }

    public long ElementCount => (long)Rows * Columns;

    public static MaskMatrix From(PatchedTensor tensor)
    {
        int rows;
        long columns;
        if (tensor.Shape.Count == 0)
        {
            rows = 1;
            columns = 1;
        }
        else if (tensor.Shape.Count == 1)
        {
            rows = 1;
            columns = tensor.Shape[0];
        }
        else
        {
            rows = checked((int)tensor.Shape[0]);
            columns = tensor.Shape[0] == 0 ? 0 : tensor.ElementCount / tensor.Shape[0];
        }

        return new MaskMatrix(tensor.Name, tensor.Mask, rows, checked((int)columns));
    }

    public bool IsKept(int row, int column) => MaskBits.IsSet(Mask, ((long)row * Columns) + column);
}
