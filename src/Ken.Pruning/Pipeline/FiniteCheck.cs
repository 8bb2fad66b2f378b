using Ken.Format;
using Ken.Format.Checkpoints;

namespace Ken.Pruning.Pipeline;

/// <summary>The pipeline's check that a tensor holds no NaN or infinity, with an error naming where.</summary>
internal static class FiniteCheck
{
    internal static void Ensure(ReadOnlySpan<float> data, TensorInfo info, string source)
    {
        int i = FloatEncoding.IndexOfNonFinite(data);
        if (i >= 0)
        {
            long n = Math.Max(1, info.RowLength);
            throw new KenException(
                $"tensor {info.Name} in {source} holds {data[i]} at row {i / n}, position {i % n}; "
                + "fix or re-export the checkpoint (a NaN or infinity usually means training diverged).");
        }
    }
}
