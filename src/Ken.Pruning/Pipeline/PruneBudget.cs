using System.Globalization;
using Ken.Format;

namespace Ken.Pruning.Pipeline;

/// <summary>
/// How many values each row keeps: an absolute <c>k</c> for every tensor (as in the KEN paper) or a
/// fraction of each row. Either way a row keeps at least one value and at most the whole row.
/// </summary>
public sealed record PruneBudget
{
    private PruneBudget(int? k, double? keep)
    {
        K = k;
        Keep = keep;
    }

    /// <summary>The absolute budget, when the budget is absolute.</summary>
    public int? K { get; }

    /// <summary>The kept fraction of each row, when the budget is relative.</summary>
    public double? Keep { get; }

    public static PruneBudget Absolute(int k)
    {
        if (k < 1)
        {
            throw new KenException($"--k {k} is not a valid budget: k must be at least 1 (each row keeps k values).");
        }

        return new PruneBudget(k, null);
    }

    public static PruneBudget Fraction(double keep)
    {
        if (!(keep > 0 && keep <= 1) || double.IsNaN(keep))
        {
            throw new KenException(
                $"--keep {keep.ToString(CultureInfo.InvariantCulture)} is not a valid budget: keep must be in (0, 1], e.g. 0.5 keeps half of each row.");
        }

        return new PruneBudget(null, keep);
    }

    /// <summary>
    /// The number of values a row of <paramref name="rowLength"/> keeps. A fraction rounds half away
    /// from zero and never drops below one value.
    /// </summary>
    public int KeptPerRow(long rowLength)
    {
        if (rowLength <= 0)
        {
            return 0;
        }

        long k = K ?? (long)Math.Round(Keep!.Value * rowLength, MidpointRounding.AwayFromZero);
        return (int)Math.Clamp(k, 1, rowLength);
    }

    public override string ToString() => K is { } k
        ? $"k={k.ToString(CultureInfo.InvariantCulture)}"
        : $"keep={Keep!.Value.ToString(CultureInfo.InvariantCulture)}";
}
