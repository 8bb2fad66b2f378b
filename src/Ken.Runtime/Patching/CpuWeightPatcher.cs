using System.Collections.Concurrent;
using Ken.Format.Faults;

namespace Ken.Runtime.Patching;

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

    public long Apply(WeightSet slot, PatchSet patches)
    {
        ArgumentNullException.ThrowIfNull(slot);
        ArgumentNullException.ThrowIfNull(patches);
        long written = 0;
        int done = 0;
        Parallel.ForEach(Partitioner.Create(patches.Patches, EnumerablePartitionerOptions.NoBuffering), _parallel, patch =>
        {
            var count = patch.Groups is { } groups
                ? GroupCopy.Apply(groups, patch.Values, slot.Tensor(patch.TensorIndex))
                : MaskedCopy.Scatter(patch.Mask, patch.Values, slot.Tensor(patch.TensorIndex));
            Interlocked.Add(ref written, count);
            MidSwitch(ref done, patches.Patches.Count);
        });
        return written;
    }

    public long Restore(WeightSet slot, WeightSet pristine, PatchSet patches)
    {
        ArgumentNullException.ThrowIfNull(slot);
        ArgumentNullException.ThrowIfNull(pristine);
        ArgumentNullException.ThrowIfNull(patches);
        long written = 0;
        Parallel.ForEach(Partitioner.Create(patches.Patches, EnumerablePartitionerOptions.NoBuffering), _parallel, patch =>
        {
            var count = patch.Groups is { } groups
                ? GroupCopy.Restore(groups, pristine.Tensor(patch.TensorIndex), slot.Tensor(patch.TensorIndex))
                : MaskedCopy.CopySelected(patch.Mask, pristine.Tensor(patch.TensorIndex), slot.Tensor(patch.TensorIndex));
            Interlocked.Add(ref written, count);
        });
        return written;
    }

    public (long Applied, long Restored) Replace(WeightSet slot, WeightSet pristine, PatchSet previous, PatchSet incoming)
    {
        ArgumentNullException.ThrowIfNull(slot);
        ArgumentNullException.ThrowIfNull(pristine);
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(incoming);
        var oldByTensor = new Dictionary<int, PhysicalPatch>(previous.Patches.Count);
        foreach (var patch in previous.Patches)
        {
            oldByTensor[patch.TensorIndex] = patch;
        }

        // One work item per tensor either task touches: largest first, as in Apply.
        var work = new List<(PhysicalPatch? Old, PhysicalPatch? Next)>(previous.Patches.Count + incoming.Patches.Count);
        foreach (var patch in incoming.Patches)
        {
            work.Add((oldByTensor.Remove(patch.TensorIndex, out var before) ? before : null, patch));
        }

        foreach (var patch in oldByTensor.Values)
        {
            work.Add((patch, null));
        }

        work.Sort(static (a, b) => (b.Next ?? b.Old)!.ElementCount.CompareTo((a.Next ?? a.Old)!.ElementCount));
        long applied = 0, restored = 0;
        int done = 0;
        Parallel.ForEach(Partitioner.Create(work, EnumerablePartitionerOptions.NoBuffering), _parallel, item =>
        {
            MidSwitch(ref done, work.Count);
            var (o, n) = item;
            int index = (n ?? o)!.TensorIndex;
            var target = slot.Tensor(index);
            if (n is null)
            {
                Interlocked.Add(ref restored, o!.Groups is { } only
                    ? GroupCopy.Restore(only, pristine.Tensor(index), target)
                    : MaskedCopy.CopySelected(o.Mask, pristine.Tensor(index), target));
                return;
            }

            if (o is null)
            {
                Interlocked.Add(ref applied, n.Groups is { } fresh
                    ? GroupCopy.Apply(fresh, n.Values, target)
                    : MaskedCopy.Scatter(n.Mask, n.Values, target));
                return;
            }

            if (o.Groups is { } oldGroups && n.Groups is { } newGroups && UseGroups(oldGroups.Length + newGroups.Length, o.Mask.Length))
            {
                // Block deltas: restore the old groups, then write the new ones; a group both hold is
                // written twice, which costs less than finding it. Counts every old position as restored.
                Interlocked.Add(ref restored, GroupCopy.Restore(oldGroups, pristine.Tensor(index), target));
                GroupCopy.Apply(newGroups, n.Values, target);
                Interlocked.Add(ref applied, n.Values.Length);
                return;
            }

            Interlocked.Add(ref restored, MaskedCopy.Replace(o.Mask, n.Mask, n.Values, pristine.Tensor(index), target));
            Interlocked.Add(ref applied, n.Values.Length);
        });
        return (applied, restored);
    }

    /// <summary>
    /// Whether a switch walks group lists rather than bitmaps: while the two tasks together list at most
    /// 60 % of the tensor's groups. Denser, the lists' random moves (and a shared group written twice)
    /// cost more than one streaming pass over the bitmaps (`ken-perf switch`: lists win at keep 0.05 to
    /// 0.25 of block deltas, bitmaps at 0.5; docs/BENCHMARKS.md).
    /// </summary>
    private static bool UseGroups(long listed, int groups) => listed * 10 <= groups * 6L;

    /// <summary>The <see cref="FaultPoints.SwapMidSwitch"/> point: reached once half of a switch's tensors are written.</summary>
    private static void MidSwitch(ref int done, int total)
    {
        if (FaultPoints.Enabled && Interlocked.Increment(ref done) == (total + 1) / 2)
        {
            FaultPoints.Hit(FaultPoints.SwapMidSwitch);
        }
    }
}
