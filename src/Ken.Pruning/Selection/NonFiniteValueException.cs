using System.Globalization;
using Ken.Format;
using Ken.Format.Checkpoints;

namespace Ken.Pruning.Selection;

/// <summary>
/// A row holds NaN or an infinity, for which no selection rule is defined. The message names the
/// row and position; the pipeline prefixes the tensor name.
/// </summary>
public class NonFiniteValueException : KenException
{
    public NonFiniteValueException()
    {
    }

    public NonFiniteValueException(string message)
        : base(message)
    {
    }

    public NonFiniteValueException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public NonFiniteValueException(long rowIndex, int position, float value)
        : base(string.Create(
            CultureInfo.InvariantCulture,
            $"row {rowIndex} position {position} holds {value}; the checkpoint must hold only finite weights (re-export it, or exclude this tensor)"))
    {
        RowIndex = rowIndex;
        Position = position;
        Value = value;
    }

    /// <summary>The row's index within its tensor.</summary>
    public long RowIndex { get; }

    /// <summary>The offending position within the row.</summary>
    public int Position { get; }

    /// <summary>The offending value (NaN or an infinity).</summary>
    public float Value { get; }

    /// <summary>Throws for the first non-finite value of <paramref name="row"/>, if any.</summary>
    internal static void ThrowIfAnyNonFinite(ReadOnlySpan<float> row, long rowIndex)
    {
        int i = FloatEncoding.IndexOfNonFinite(row);
        if (i >= 0)
        {
            throw new NonFiniteValueException(rowIndex, i, row[i]);
        }
    }
}
