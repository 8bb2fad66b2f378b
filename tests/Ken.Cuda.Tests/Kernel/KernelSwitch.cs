using System.Numerics;
using System.Runtime.InteropServices;
using Ken.Cuda.Patching;
using Ken.Cuda.Tests.Support;

namespace Ken.Cuda.Tests.Kernel;

/// <summary>
/// Lays out the kernel's tables by hand in guarded native memory (independently of DevicePatcher), runs one
/// switch with the host kernel, and returns the weights. The slot starts as "holding A", except that every
/// position outside A holds a sentinel unlike pristine, so a write the rule does not allow shows up.
/// </summary>
public static unsafe class KernelSwitch
{
    public static float[][] Run(int[] lengths, float[][] pristine, TaskData? a, TaskData? b, uint? grid = null, uint block = 256)
    {
        using var arena = new GuardedArena();
        var n = lengths.Length;
        var tensors = new TensorDescriptor[n];
        var weightAddresses = new ulong[n];
        uint chunks = 0;
        for (var t = 0; t < n; t++)
        {
            var words = (uint)((lengths[t] + 31) / 32);
            tensors[t] = new TensorDescriptor
            {
                Pristine = (ulong)arena.Copy<float>(pristine[t]),
                Count = (uint)lengths[t],
                Words = words,
                ChunkBegin = chunks,
                ChunkCount = (words + 31) / 32,
            };
            chunks += tensors[t].ChunkCount;
            weightAddresses[t] = (ulong)arena.Copy<float>(InitialWeights(pristine[t], a?.Masks[t]));
        }

        var tensorTable = arena.Copy<TensorDescriptor>(tensors);
        var weightTable = arena.Copy<ulong>(weightAddresses);
        var from = a is null ? 0 : TaskTable(arena, lengths, a);
        var to = b is null ? 0 : TaskTable(arena, lengths, b);
        var blocks = grid ?? Math.Max(1u, (chunks + (block / 32) - 1) / (block / 32));
        HostKernel.Launch(blocks, block, tensorTable, (uint)n, chunks, weightTable, from, to);
        arena.AssertGuardsIntact();

        var result = new float[n][];
        for (var t = 0; t < n; t++)
        {
            result[t] = GuardedArena.View<float>((nint)weightAddresses[t], lengths[t]).ToArray();
        }

        return result;
    }

    /// <summary>What the slot holds before the switch, as <see cref="Run"/> sets it up.</summary>
    public static float[] InitialWeights(float[] pristine, byte[]? maskA)
    {
        var weights = new float[pristine.Length];
        for (var i = 0; i < weights.Length; i++)
        {
            // Inside A: A's value (any value not pristine will do: the switch must overwrite it).
            // Outside A: a sentinel the switch must leave alone.
            weights[i] = maskA is not null && TaskData.IsSet(maskA, i) ? pristine[i] + 1000f : -7777f - i;
        }

        return weights;
    }

    private static nint TaskTable(GuardedArena arena, int[] lengths, TaskData task)
    {
        var table = new TaskDescriptor[lengths.Length];
        for (var t = 0; t < lengths.Length; t++)
        {
            if (task.Masks[t] is not { } mask)
            {
                continue;
            }

            var words = (lengths[t] + 31) / 32;
            var padded = new uint[words];
            mask.CopyTo(MemoryMarshal.AsBytes(padded.AsSpan()));
            var offsets = new uint[words];
            uint running = 0;
            for (var w = 0; w < words; w++)
            {
                offsets[w] = running;
                running += (uint)BitOperations.PopCount(padded[w]);
            }

            table[t] = new TaskDescriptor
            {
                Mask = (ulong)arena.Copy<uint>(padded),
                Offsets = (ulong)arena.Copy<uint>(offsets),
                Values = (ulong)arena.Copy<byte>(task.Values[t]),
                ValueType = (uint)task.ValueType,
                ValueCount = running,
            };
        }

        return arena.Copy<TaskDescriptor>(table);
    }
}
