namespace Ken.Format.Checkpoints;

/// <summary>
/// Transposes row-major matrices between ONNX <c>[in, out]</c> and canonical <c>[out, in]</c> layout.
/// </summary>
public static class MatrixTranspose
{
    // 32 x 32 floats = 4 KiB per tile side: both tiles stay in L1 while a naive column walk would
    // miss the cache on every element of a 384 x 1536 matrix.
    private const int Tile = 32;

    /// <summary>
    /// Writes the transpose of <paramref name="source"/> (<paramref name="rows"/> x <paramref name="columns"/>)
    /// into <paramref name="destination"/> (<paramref name="columns"/> x <paramref name="rows"/>).
    /// </summary>
    public static void Transpose(ReadOnlySpan<float> source, Span<float> destination, int rows, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        var count = (long)rows * columns;
        if (source.Length != count || destination.Length != count)
        {
            throw new ArgumentException(
                $"a {rows} x {columns} transpose needs {count} elements on both sides, got {source.Length} and {destination.Length}.");
        }

        if (source.Overlaps(destination))
        {
            throw new ArgumentException("source and destination of a transpose must not overlap.", nameof(destination));
        }

        for (var r0 = 0; r0 < rows; r0 += Tile)
        {
            var r1 = Math.Min(r0 + Tile, rows);
            for (var c0 = 0; c0 < columns; c0 += Tile)
            {
                var c1 = Math.Min(c0 + Tile, columns);
                for (var r = r0; r < r1; r++)
                {
                    var sourceRow = source.Slice(r * columns, columns);
                    for (var c = c0; c < c1; c++)
                    {
                        destination[(c * rows) + r] = sourceRow[c];
                    }
                }
            }
        }
    }
}
