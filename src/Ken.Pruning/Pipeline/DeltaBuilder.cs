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
        var selector = RowSelectors.Create(options.Method, unchecked((ulong)options.Seed), options.Block);

        // Blocks along the stored layout: a tensor the base stores transposed keeps the same positions in
        // aligned groups of B rows, B neighbours in memory (docs/SELECTION.md).
        var groups = selector is BlockSelector blocks && options.BlockLayout == BlockLayout.Serving ? new RowGroupSelector(blocks.Inner) : null;
        var layout = baseModel as IStoredLayout;
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
                    var grouped = groups is not null && layout is not null && layout.IsStoredTransposed(pair.Base.Name) ? groups : null;
                    patched.Add(SelectTensor(pair.Base, loaded.Base, loaded.Finetuned, loaded.DType, loaded.Fingerprint, options, selector, grouped, cancellationToken));
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
        RowGroupSelector? groups,
        CancellationToken cancellationToken)
    {
        long n = info.RowLength;
        long rows = info.RowCount;
        int kept = options.Budget.KeptPerRow(n);
        var mask = new byte[(info.ElementCount + 7) / 8];
        if (kept == n)
        {
            var wholeValues = new float[checked(rows * kept)];
            // The whole row is kept: no selection to run.
            mask.AsSpan().Fill(0xFF);
            int tail = (int)(info.ElementCount % 8);
            if (tail != 0)
            {
                mask[^1] = (byte)((1 << tail) - 1);
            }

            finetuned.AsSpan(0, wholeValues.Length).CopyTo(wholeValues);
            return new PatchedTensor(info.Name, info.Shape, mask, wholeValues, dtype, fingerprint);
        }

        // Pass 1: each row's kept positions into the mask. An element-wise method keeps exactly
        // `kept` per row; a block method keeps its rows' shares of the budget in whole blocks; row
        // groups keep `kept` positions shared by each aligned group of B rows.
        int group = options.Block;
        int rowsPerChunk = groups is null ? RowsPerBlock : RowsPerGroupedChunk(group);
        long chunks = (rows + rowsPerChunk - 1) / rowsPerChunk;
        var chunkKept = new long[chunks];
        var parallel = new ParallelOptions
        {
            CancellationToken = cancellationToken,
            MaxDegreeOfParallelism = options.MaxDegreeOfParallelism ?? Environment.ProcessorCount,
        };
        Parallel.For(0L, chunks, parallel, () => new int[n], (chunk, _, positions) =>
        {
            long first = chunk * rowsPerChunk;
            long end = Math.Min(rows, first + rowsPerChunk);
            long chunkCount = 0;
            if (groups is not null)
            {
                for (long g = first; g < end; g += group)
                {
                    int groupRows = (int)Math.Min(group, end - g);
                    int start = checked((int)(g * n));
                    int length = checked(groupRows * (int)n);
                    int count = groups.SelectGroup(finetuned.AsSpan(start, length), pretrained.AsSpan(start, length), (int)n, kept, g / group, g, positions);
                    for (int row = 0; row < groupRows; row++)
                    {
                        for (int t = 0; t < count; t++)
                        {
                            MaskBits.Set(mask, start + (row * n) + positions[t]);
                        }
                    }

                    chunkCount += (long)count * groupRows;
                }

                chunkKept[chunk] = chunkCount;
                return positions;
            }

            for (long r = first; r < end; r++)
            {
                int start = checked((int)(r * n));
                int count = selector.SelectRow(finetuned.AsSpan(start, (int)n), pretrained.AsSpan(start, (int)n), kept, r, positions);
                Debug.Assert(selector is BlockSelector || count == kept, "an element-wise selector must keep exactly k positions");
                for (int t = 0; t < count; t++)
                {
                    MaskBits.Set(mask, start + positions[t]);
                }

                chunkCount += count;
            }

            chunkKept[chunk] = chunkCount;
            return positions;
        }, static _ => { });

        // Pass 2: each chunk's values, gathered in ascending order at its offset. A chunk starts on a
        // 64-bit boundary of the mask, so its bits are its own.
        var chunkOffset = new long[chunks + 1];
        for (long c = 0; c < chunks; c++)
        {
            chunkOffset[c + 1] = chunkOffset[c] + chunkKept[c];
        }

        var values = new float[checked((int)chunkOffset[chunks])];
        Parallel.For(0L, chunks, parallel, chunk =>
        {
            long first = chunk * rowsPerChunk;
            long end = Math.Min(rows, first + rowsPerChunk);
            int from = checked((int)(first * n));
            int to = checked((int)(end * n));
            MaskBits.Gather(
                mask.AsSpan(from >> 3, (int)MaskBits.ByteLength(to - from)),
                finetuned.AsSpan(from, to - from),
                values.AsSpan(checked((int)chunkOffset[chunk]), checked((int)chunkKept[chunk])));
        });

        return new PatchedTensor(info.Name, info.Shape, mask, values, dtype, fingerprint);
    }

    /// <summary>Rows per chunk for row groups of <paramref name="group"/>: whole groups and whole mask bytes (a multiple of 8 rows), at least 64.</summary>
    private static int RowsPerGroupedChunk(int group)
    {
        int lcm = group / (int)System.Numerics.BigInteger.GreatestCommonDivisor(group, 8) * 8;
        return lcm * Math.Max(1, RowsPerBlock / lcm);
    }
}
