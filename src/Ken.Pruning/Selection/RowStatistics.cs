using System.Numerics;
using System.Runtime.InteropServices;

namespace Ken.Pruning.Selection;

/// <summary>The population standard deviation of a row, in float64, vectorized.</summary>
internal static class RowStatistics
{
    /// <summary>
    /// The row's population standard deviation (mean first, then the mean squared deviation, both
    /// summed in float64), or 0 when every value equals the first (a constant row).
    /// </summary>
    internal static double StandardDeviation(ReadOnlySpan<float> row)
    {
        int n = row.Length;
        int lanes = Vector<float>.Count;
        var firstValue = new Vector<float>(row[0]);
        var sumLow = Vector<double>.Zero;
        var sumHigh = Vector<double>.Zero;
        var same = Vector<int>.AllBitsSet;
        ReadOnlySpan<Vector<float>> blocks = MemoryMarshal.Cast<float, Vector<float>>(row);
        foreach (var block in blocks)
        {
            Vector.Widen(block, out Vector<double> low, out Vector<double> high);
            sumLow += low;
            sumHigh += high;
            same &= Vector.Equals(block, firstValue);
        }

        double sum = Vector.Sum(sumLow + sumHigh);
        bool constant = Vector.EqualsAll(same, Vector<int>.AllBitsSet);
        float first = row[0];
        for (int i = blocks.Length * lanes; i < n; i++)
        {
            sum += row[i];
            constant &= row[i] == first;
        }

        if (constant)
        {
            return 0;
        }

        double mean = sum / n;
        var vMean = new Vector<double>(mean);
        var squaresLow = Vector<double>.Zero;
        var squaresHigh = Vector<double>.Zero;
        foreach (var block in blocks)
        {
            Vector.Widen(block, out Vector<double> low, out Vector<double> high);
            low -= vMean;
            high -= vMean;
            squaresLow = Vector.FusedMultiplyAdd(low, low, squaresLow);
            squaresHigh = Vector.FusedMultiplyAdd(high, high, squaresHigh);
        }

        double squares = Vector.Sum(squaresLow + squaresHigh);
        for (int i = blocks.Length * lanes; i < n; i++)
        {
            double d = row[i] - mean;
            squares += d * d;
        }

        return Math.Sqrt(squares / n);
    }
}
