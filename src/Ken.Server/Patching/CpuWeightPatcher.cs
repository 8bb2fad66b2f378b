using System.Collections.Concurrent;

namespace Ken.Server.Patching;

/// <summary>
/// Patches host weight buffers, one tensor per worker. Tensors arrive largest first and are handed
/// out one at a time, so the word embeddings start at once and small tensors fill in around them.
/// </summary>
public sealed class CpuWeightPatcher : IWeightPatcher
{
    private readonly ParallelOptions _parallel;

    /// <param name="maxDegreeOfParallelism">Worker threads; null: all cores.</param>
    public CpuWeightPatcher(int? maxDegreeOfParallelism = null)
    {
        _parallel = new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism ?? Environment.ProcessorCount };
    }

    public long Apply(WeightSet slot, PreparedTask task)
    {
        ArgumentNullException.ThrowIfNull(slot);
        ArgumentNullException.ThrowIfNull(task);
        long written = 0;
        Parallel.ForEach(Partitioner.Create(task.Patches, EnumerablePartitionerOptions.NoBuffering), _parallel, patch =>
        {
            var count = MaskedCopy.Scatter(patch.Mask, patch.Values, slot.Tensor(patch.TensorIndex));
            Interlocked.Add(ref written, count);
        });
        return written;
    }

    public long Restore(WeightSet slot, WeightSet pristine, PreparedTask task)
    {
        ArgumentNullException.ThrowIfNull(slot);
        ArgumentNullException.ThrowIfNull(pristine);
        ArgumentNullException.ThrowIfNull(task);
        long written = 0;
        Parallel.ForEach(Partitioner.Create(task.Patches, EnumerablePartitionerOptions.NoBuffering), _parallel, patch =>
        {
            var count = MaskedCopy.CopySelected(patch.Mask, pristine.Tensor(patch.TensorIndex), slot.Tensor(patch.TensorIndex));
            Interlocked.Add(ref written, count);
        });
        return written;
    }
}
