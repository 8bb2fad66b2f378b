using System.Diagnostics;
using Ken.Format.Checkpoints;
using Ken.Format.Deltas;
using Ken.Pruning.Selection;

namespace Ken.Pruning.Pipeline;

/// <summary>
/// Builds a task delta from a base and a fine-tuned checkpoint: matches their tensors, selects the
/// kept positions of every row (in parallel), and gathers masks, values, fingerprints and heads.
/// </summary>
public static class DeltaBuilder
{
    // Rows are processed in blocks of a multiple of 8 so that each block owns whole mask bytes and
    // parallel workers never write the same byte.
    private const int RowsPerBlock = 64;

    public static KenDelta Build(
        ICheckpoint baseModel,
        ICheckpoint finetuned,
        PruneOptions options,
        IProgress<PruneProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var selector = RowSelectors.Create(options.Method, unchecked((ulong)options.Seed));
        var match = CheckpointNameMatcher.Match(baseModel, finetuned);
        var plan = PrunePlan.Create(baseModel, finetuned, match);

        long total = 0;
        foreach (var pair in plan.Pairs)
        {
            total += pair.Base.ElementCount;
        }

        var patched = new List<PatchedTensor>();
        long done = 0;
        int tensorsDone = 0;
        int threads = options.MaxDegreeOfParallelism ?? Environment.ProcessorCount;
        using (var loader = new PairLoader(baseModel, finetuned, plan.Pairs, options, prefetch: threads > 1))
        {
            foreach (var pair in plan.Pairs)
            {
                cancellationToken.ThrowIfCancellationRequested();
                progress?.Report(new PruneProgress(done, total, tensorsDone, plan.Pairs.Count, pair.Base.Name));
                var loaded = loader.Next();
                if (loaded.Selected)
                {
                    patched.Add(SelectTensor(pair.Base, loaded.Base, loaded.Finetuned, loaded.DType, loaded.Fingerprint, options, selector, cancellationToken));
                }

                done += pair.Base.ElementCount;
                tensorsDone++;
            }
        }

        var heads = new List<HeadTensor>();
        foreach (var info in plan.Heads)
        {
            var data = new float[checked((int)info.ElementCount)];
            finetuned.ReadFloat32(info.Name, data);
            FiniteCheck.Ensure(data, info, finetuned.Source);
            heads.Add(new HeadTensor(info.Name, info.Shape, data, options.ValuesDType ?? info.DType));
        }

        progress?.Report(new PruneProgress(total, total, plan.Pairs.Count, plan.Pairs.Count, string.Empty));
        var metadata = DeltaMetadataFactory.Create(options, finetuned, heads);
        return new KenDelta(metadata, patched, heads);
    }

    private static PatchedTensor SelectTensor(
        TensorInfo info,
        float[] pretrained,
        float[] finetuned,
        TensorDType dtype,
        ulong fingerprint,
        PruneOptions options,
        IRowSelector selector,
        CancellationToken cancellationToken)
    {
        long n = info.RowLength;
        long rows = info.RowCount;
        int kept = options.Budget.KeptPerRow(n);
        var mask = new byte[(info.ElementCount + 7) / 8];
        var values = new float[checked(rows * kept)];
        if (kept == n)
        {
            // The whole row is kept: no selection to run.
            mask.AsSpan().Fill(0xFF);
            int tail = (int)(info.ElementCount % 8);
            if (tail != 0)
            {
                mask[^1] = (byte)((1 << tail) - 1);
            }

            finetuned.AsSpan(0, values.Length).CopyTo(values);
            return new PatchedTensor(info.Name, info.Shape, mask, values, dtype, fingerprint);
        }

        long blocks = (rows + RowsPerBlock - 1) / RowsPerBlock;
        var parallel = new ParallelOptions
        {
            CancellationToken = cancellationToken,
            MaxDegreeOfParallelism = options.MaxDegreeOfParallelism ?? Environment.ProcessorCount,
        };
        Parallel.For(0L, blocks, parallel, () => new int[kept], (block, _, positions) =>
        {
            long first = block * RowsPerBlock;
            long end = Math.Min(rows, first + RowsPerBlock);
            for (long r = first; r < end; r++)
            {
                int start = checked((int)(r * n));
                int count = selector.SelectRow(finetuned.AsSpan(start, (int)n), pretrained.AsSpan(start, (int)n), kept, r, positions);
                Debug.Assert(count == kept, "a selector must keep exactly k positions");
                for (int t = 0; t < count; t++)
                {
                    MaskBits.Set(mask, start + positions[t]);
                }
            }

            // A block starts on a 64-bit boundary of the mask, so its bits and its values (rows keep
            // exactly `kept` each) can be gathered in ascending order without sorting positions.
            int from = checked((int)(first * n));
            int to = checked((int)(end * n));
            MaskBits.Gather(
                mask.AsSpan(from >> 3, (int)MaskBits.ByteLength(to - from)),
                finetuned.AsSpan(from, to - from),
                values.AsSpan(checked((int)(first * kept)), checked((int)((end - first) * kept))));
            return positions;
        }, static _ => { });

        return new PatchedTensor(info.Name, info.Shape, mask, values, dtype, fingerprint);
    }
}
