using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using Ken.Cuda.Driver;
using Ken.Cuda.Memory;

namespace Ken.Cuda.Patching;

/// <summary>
/// Patches weight slots on the device. It owns one pristine device copy of the backbone (the tensors it
/// was made with, float32), the slots made by <see cref="CreateSlot"/>, and the tasks bound by
/// <see cref="Bind"/>. <see cref="Switch"/> moves a slot from the task it holds to another (or to the base)
/// with ONE kernel launch on <see cref="Stream"/> and no host synchronization: every table the kernel reads
/// (backbone, slot, both tasks) was uploaded before, so a switch copies nothing from the host.
/// </summary>
/// <remarks>
/// Ordering: everything runs on one stream. Give ONNX Runtime the same stream (<c>user_compute_stream</c>)
/// and a switch queued after a run waits for it on the device, and a run queued after a switch sees the new
/// weights; the host never blocks on a switch. Methods are serialized by a lock (the staging buffer is shared).
/// <para>Failures leave a defined state:</para>
/// <list type="bullet">
/// <item><see cref="Bind"/>: the task's device memory is freed and nothing else changed.</item>
/// <item><see cref="Switch"/>: the driver refused the launch (<see cref="CudaException"/>); the slot is marked
/// <see cref="DeviceSlot.IsFaulted"/>, holds no task, and refuses switches until <see cref="Reset"/> copies
/// the base weights back into it. Other slots and tasks are unaffected.</item>
/// <item>An error the device reports later (a kernel fault) surfaces from the next synchronizing call as a
/// <see cref="CudaException"/>; CUDA makes such errors sticky to the context, so the process must recreate
/// the context (in practice restart) before using the device again.</item>
/// </list>
/// </remarks>
public sealed class DevicePatcher : IDisposable
{
    private const int Alignment = 256;
    private const int WarpsPerBlock = PatchModule.ThreadsPerBlock / 32;

    private readonly Lock gate = new();
    private readonly PatchModule module;
    private readonly PinnedHostBuffer staging;
    private readonly DeviceBuffer backbone;
    private readonly int[] counts;
    private readonly long[] offsets;
    private readonly long dataStart;
    private readonly long dataEnd;
    private readonly uint chunkTotal;
    private readonly uint blocks;
    private readonly List<DeviceSlot> slots = [];
    private readonly List<DeviceTask> tasks = [];
    private bool disposed;

    /// <summary>Uploads the backbone's pristine weights (one span per tensor, in the order tasks index them).</summary>
    /// <exception cref="CudaException">A driver call failed; nothing is left allocated.</exception>
    public DevicePatcher(PrimaryContext context, CudaStream stream, IReadOnlyList<ReadOnlyMemory<float>> pristine, DevicePatcherOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(pristine);
        options ??= new DevicePatcherOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.StagingBytes, 4096, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxBlocks, nameof(options));
        if (pristine.Count == 0)
        {
            throw new ArgumentException("the backbone has no tensors", nameof(pristine));
        }

        Context = context;
        Stream = stream;
        var n = pristine.Count;
        counts = new int[n];
        offsets = new long[n];
        var descriptors = new TensorDescriptor[n];
        dataStart = Align((long)n * Marshal.SizeOf<TensorDescriptor>());
        var position = dataStart;
        ulong chunks = 0;
        for (var t = 0; t < n; t++)
        {
            var count = pristine[t].Length;
            if (count == 0)
            {
                throw new ArgumentException($"backbone tensor {t} is empty", nameof(pristine));
            }

            counts[t] = count;
            offsets[t] = position;
            position = Align(position + ((long)count * sizeof(float)));
            var words = WordCount(count);
            var chunkCount = (words + 31) / 32;
            descriptors[t] = new TensorDescriptor { Count = (uint)count, Words = words, ChunkBegin = (uint)chunks, ChunkCount = chunkCount };
            chunks += chunkCount;
        }

        if (chunks > int.MaxValue)
        {
            throw new ArgumentException($"the backbone has {chunks} chunks of {PatchModule.ChunkElements} elements; at most {int.MaxValue}", nameof(pristine));
        }

        dataEnd = position;
        chunkTotal = (uint)chunks;
        var needed = (chunkTotal + WarpsPerBlock - 1) / WarpsPerBlock;
        blocks = options.MaxBlocks > 0 ? Math.Min(needed, (uint)options.MaxBlocks) : needed;

        PatchModule? loaded = null;
        PinnedHostBuffer? pinned = null;
        DeviceBuffer? device = null;
        try
        {
            loaded = PatchModule.Load(context);
            pinned = PinnedHostBuffer.Allocate(context, options.StagingBytes);
            device = DeviceBuffer.Allocate(context, dataEnd);
            for (var t = 0; t < n; t++)
            {
                descriptors[t].Pristine = device.Address + (ulong)offsets[t];
            }

            var upload = new StagedUpload(pinned, stream, device);
            upload.Write(MemoryMarshal.AsBytes(descriptors.AsSpan()));
            for (var t = 0; t < n; t++)
            {
                upload.ZeroTo(offsets[t]);
                upload.Write(MemoryMarshal.AsBytes(pristine[t].Span));
            }

            upload.ZeroTo(dataEnd);
            upload.Finish();
        }
        catch
        {
            device?.Dispose();
            pinned?.Dispose();
            loaded?.Dispose();
            throw;
        }

        module = loaded;
        staging = pinned;
        backbone = device;
    }

    public PrimaryContext Context { get; }

    /// <summary>The stream every upload, switch and download is queued on.</summary>
    public CudaStream Stream { get; }

    public int TensorCount => counts.Length;

    /// <summary>Device memory of the pristine copy and its table.</summary>
    public long BackboneBytes => dataEnd;

    /// <summary>Device memory one slot takes.</summary>
    public long SlotBytes => dataEnd;

    /// <summary>Elements of backbone tensor <paramref name="tensorIndex"/>.</summary>
    public int GetElementCount(int tensorIndex) => counts[tensorIndex];

    /// <summary>Blocks of <see cref="PatchModule.ThreadsPerBlock"/> threads each switch launches.</summary>
    public int BlocksPerSwitch => (int)blocks;

    /// <summary>Allocates a slot holding the base weights (a device copy of the pristine weights, queued).</summary>
    public DeviceSlot CreateSlot()
    {
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            var buffer = DeviceBuffer.Allocate(Context, dataEnd);
            try
            {
                var table = new ulong[counts.Length];
                for (var t = 0; t < table.Length; t++)
                {
                    table[t] = buffer.Address + (ulong)offsets[t];
                }

                var upload = new StagedUpload(staging, Stream, buffer);
                upload.Write(MemoryMarshal.AsBytes(table.AsSpan()));
                upload.Finish();
                buffer.CopyFromDeviceAsync(dataStart, backbone, dataStart, dataEnd - dataStart, Stream);
            }
            catch
            {
                FreeAfterStream(buffer);
                throw;
            }

            var slot = new DeviceSlot(this, buffer, offsets, counts);
            slots.Add(slot);
            return slot;
        }
    }

    /// <summary>
    /// Checks a task's patches against the backbone and uploads them (masks, per-word value offsets, values,
    /// descriptor table) into one device allocation; returns when the device holds them.
    /// </summary>
    /// <exception cref="ArgumentException">A patch does not fit the backbone (index, mask size, stray bits, value count).</exception>
    /// <exception cref="CudaException">A driver call failed; the task's device memory is freed.</exception>
    public DeviceTask Bind(IReadOnlyList<TensorPatch> patches)
    {
        ArgumentNullException.ThrowIfNull(patches);
        var ordered = new TensorPatch[patches.Count];
        var valueCounts = new int[patches.Count];
        var seen = new bool[counts.Length];
        for (var p = 0; p < patches.Count; p++)
        {
            var patch = patches[p] ?? throw new ArgumentException($"patch {p} is null", nameof(patches));
            valueCounts[p] = Validate(patch, seen);
            ordered[p] = patch;
        }

        Array.Sort(ordered, valueCounts, Comparer<TensorPatch>.Create((a, b) => a.TensorIndex.CompareTo(b.TensorIndex)));

        // Layout: descriptor table, then per patch mask words, offsets, values, each 256-byte aligned.
        var n = counts.Length;
        var descriptors = new TaskDescriptor[n];
        var maskAt = new long[ordered.Length];
        var offsetsAt = new long[ordered.Length];
        var valuesAt = new long[ordered.Length];
        var position = Align((long)n * Marshal.SizeOf<TaskDescriptor>());
        long totalValues = 0;
        for (var p = 0; p < ordered.Length; p++)
        {
            var words = (long)WordCount(counts[ordered[p].TensorIndex]);
            maskAt[p] = position;
            offsetsAt[p] = Align(position + (words * sizeof(uint)));
            valuesAt[p] = Align(offsetsAt[p] + (words * sizeof(uint)));
            position = Align(valuesAt[p] + Math.Max(ordered[p].Values.Length, 1));
            totalValues += valueCounts[p];
        }

        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            var buffer = DeviceBuffer.Allocate(Context, position);
            try
            {
                for (var p = 0; p < ordered.Length; p++)
                {
                    descriptors[ordered[p].TensorIndex] = new TaskDescriptor
                    {
                        Mask = buffer.Address + (ulong)maskAt[p],
                        Offsets = buffer.Address + (ulong)offsetsAt[p],
                        Values = buffer.Address + (ulong)valuesAt[p],
                        ValueType = (uint)ordered[p].ValueType,
                        ValueCount = (uint)valueCounts[p],
                    };
                }

                var upload = new StagedUpload(staging, Stream, buffer);
                upload.Write(MemoryMarshal.AsBytes(descriptors.AsSpan()));
                for (var p = 0; p < ordered.Length; p++)
                {
                    var words = (long)WordCount(counts[ordered[p].TensorIndex]);
                    upload.ZeroTo(maskAt[p]);
                    upload.Write(ordered[p].Mask.Span);
                    upload.ZeroTo(offsetsAt[p]);
                    WriteWordOffsets(upload, ordered[p].Mask.Span, (int)words);
                    upload.ZeroTo(valuesAt[p]);
                    upload.Write(ordered[p].Values.Span);
                }

                upload.ZeroTo(position);
                upload.Finish();
            }
            catch
            {
                FreeAfterStream(buffer);
                throw;
            }

            var task = new DeviceTask(this, buffer, ordered.Length, totalValues);
            tasks.Add(task);
            return task;
        }
    }

    /// <summary>
    /// Queues the switch of <paramref name="slot"/> from the task it holds to <paramref name="target"/>
    /// (null: the base weights) as one kernel launch, and returns without waiting.
    /// </summary>
    /// <exception cref="InvalidOperationException">The slot is faulted, or the task was evicted.</exception>
    /// <exception cref="CudaException">The driver refused the launch; the slot is now faulted (see remarks).</exception>
    public void Switch(DeviceSlot slot, DeviceTask? target)
    {
        ArgumentNullException.ThrowIfNull(slot);
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            CheckSlot(slot);
            if (target is not null)
            {
                CheckTask(target);
            }

            if (slot.IsFaulted)
            {
                throw new InvalidOperationException("the slot is faulted after a failed switch; call Reset to restore its base weights first");
            }

            var from = slot.Task;
            if (ReferenceEquals(from, target))
            {
                return;
            }

            try
            {
                module.Launch(Stream, blocks, backbone.Address, (uint)counts.Length, chunkTotal, slot.TableAddress, from?.TableAddress ?? 0, target?.TableAddress ?? 0);
            }
            catch (CudaException)
            {
                SetTask(slot, null);
                slot.IsFaulted = true;
                throw;
            }

            SetTask(slot, target);
        }
    }

    /// <summary>Queues a full copy of the base weights into <paramref name="slot"/> (after a fault, or to start over).</summary>
    public void Reset(DeviceSlot slot)
    {
        ArgumentNullException.ThrowIfNull(slot);
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            CheckSlot(slot);
            slot.Buffer.CopyFromDeviceAsync(dataStart, backbone, dataStart, dataEnd - dataStart, Stream);
            SetTask(slot, null);
            slot.IsFaulted = false;
        }
    }

    /// <summary>Frees a task's device memory after the stream has drained (a queued switch may still read it).</summary>
    /// <exception cref="InvalidOperationException">A slot still holds the task.</exception>
    public void Evict(DeviceTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            CheckTask(task);
            if (task.HolderCount > 0)
            {
                throw new InvalidOperationException($"the task is held by {task.HolderCount} slot(s); switch them to another task before evicting it");
            }

            tasks.Remove(task);
            Stream.Synchronize();
            task.Free();
        }
    }

    /// <summary>Frees a slot after the stream has drained; called by <see cref="DeviceSlot.Dispose"/>.</summary>
    public void Release(DeviceSlot slot)
    {
        ArgumentNullException.ThrowIfNull(slot);
        lock (gate)
        {
            if (disposed || slot.IsDisposed)
            {
                return;
            }

            CheckSlot(slot);
            SetTask(slot, null);
            slots.Remove(slot);
            Stream.Synchronize();
            slot.Free();
        }
    }

    /// <summary>Copies tensor <paramref name="tensorIndex"/> of <paramref name="slot"/> to host memory, waiting for queued work first.</summary>
    public void CopyToHost(DeviceSlot slot, int tensorIndex, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(slot);
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            CheckSlot(slot);
            ArgumentOutOfRangeException.ThrowIfNegative(tensorIndex);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(tensorIndex, counts.Length);
            if (destination.Length != counts[tensorIndex])
            {
                throw new ArgumentException($"tensor {tensorIndex} has {counts[tensorIndex]} elements, the destination {destination.Length}", nameof(destination));
            }

            var bytes = MemoryMarshal.AsBytes(destination);
            var source = slot.GetOffset(tensorIndex);
            var done = 0;
            while (done < bytes.Length)
            {
                var round = (int)Math.Min(staging.Bytes, bytes.Length - done);
                slot.Buffer.CopyToHostAsync(source + done, staging, 0, round, Stream);
                Stream.Synchronize();
                staging.AsSpan(0, round).CopyTo(bytes.Slice(done, round));
                done += round;
            }
        }
    }

    /// <summary>Waits for queued work, then frees every slot, task, the pristine copy and the staging buffer.</summary>
    public void Dispose()
    {
        lock (gate)
        {
            if (disposed)
            {
                return;
            }

            disposed = true;
            try
            {
                Stream.Synchronize();
            }
            finally
            {
                foreach (var slot in slots)
                {
                    slot.Free();
                }

                foreach (var task in tasks)
                {
                    task.Free();
                }

                slots.Clear();
                tasks.Clear();
                backbone.Dispose();
                staging.Dispose();
                module.Dispose();
            }
        }
    }

    private static void SetTask(DeviceSlot slot, DeviceTask? task)
    {
        if (slot.Task is { } old)
        {
            old.HolderCount--;
        }

        slot.Task = task;
        if (task is not null)
        {
            task.HolderCount++;
        }
    }

    private void CheckSlot(DeviceSlot slot)
    {
        if (!ReferenceEquals(slot.Owner, this))
        {
            throw new ArgumentException("the slot belongs to another patcher", nameof(slot));
        }

        ObjectDisposedException.ThrowIf(slot.IsDisposed, slot);
    }

    private void CheckTask(DeviceTask task)
    {
        if (!ReferenceEquals(task.Owner, this))
        {
            throw new ArgumentException("the task was bound by another patcher", nameof(task));
        }

        if (task.IsEvicted)
        {
            throw new InvalidOperationException("the task was evicted from the device; bind it again");
        }
    }

    private int Validate(TensorPatch patch, bool[] seen)
    {
        var t = patch.TensorIndex;
        if (t < 0 || t >= counts.Length)
        {
            throw new ArgumentException($"patch for tensor {t}: the backbone has tensors 0 to {counts.Length - 1}", nameof(patch));
        }

        if (seen[t])
        {
            throw new ArgumentException($"tensor {t} is patched twice", nameof(patch));
        }

        seen[t] = true;
        var count = counts[t];
        var mask = patch.Mask.Span;
        if (mask.Length != (count + 7) / 8)
        {
            throw new ArgumentException($"tensor {t} has {count} elements, so its mask needs {(count + 7) / 8} bytes, not {mask.Length}", nameof(patch));
        }

        var used = count & 7;
        if (used != 0 && (mask[^1] >> used) != 0)
        {
            throw new ArgumentException($"tensor {t}: the mask has bits set beyond the tensor's last element", nameof(patch));
        }

        var kept = PopCount(mask);
        if ((long)kept * patch.ValueSize != patch.Values.Length)
        {
            throw new ArgumentException(
                $"tensor {t}: the mask keeps {kept} positions but {patch.Values.Length} bytes of {patch.ValueType} values hold {patch.Values.Length / patch.ValueSize}",
                nameof(patch));
        }

        return kept;
    }

    /// <summary>offsets[w] = set bits in mask words 0..w-1, streamed into the upload in blocks.</summary>
    private static void WriteWordOffsets(StagedUpload upload, ReadOnlySpan<byte> mask, int words)
    {
        var block = ArrayPool<uint>.Shared.Rent(Math.Min(words, 16384));
        try
        {
            uint running = 0;
            var w = 0;
            while (w < words)
            {
                var n = Math.Min(block.Length, words - w);
                for (var i = 0; i < n; i++, w++)
                {
                    block[i] = running;
                    var start = w * 4;
                    var word = start + 4 <= mask.Length
                        ? BinaryPrimitives.ReadUInt32LittleEndian(mask.Slice(start, 4))
                        : TailWord(mask[start..]);
                    running += (uint)BitOperations.PopCount(word);
                }

                upload.Write(MemoryMarshal.AsBytes(block.AsSpan(0, n)));
            }
        }
        finally
        {
            ArrayPool<uint>.Shared.Return(block);
        }
    }

    private static uint TailWord(ReadOnlySpan<byte> bytes)
    {
        uint word = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            word |= (uint)bytes[i] << (8 * i);
        }

        return word;
    }

    private static int PopCount(ReadOnlySpan<byte> mask)
    {
        long kept = 0;
        var longs = MemoryMarshal.Cast<byte, ulong>(mask);
        foreach (var value in longs)
        {
            kept += BitOperations.PopCount(value);
        }

        foreach (var value in mask[(longs.Length * 8)..])
        {
            kept += BitOperations.PopCount(value);
        }

        return (int)kept;
    }

    private void FreeAfterStream(DeviceBuffer buffer)
    {
        try
        {
            Stream.Synchronize();
        }
        finally
        {
            buffer.Dispose();
        }
    }

    private static uint WordCount(int count) => (uint)((count + 31L) / 32);

    private static long Align(long offset) => (offset + Alignment - 1) & ~(long)(Alignment - 1);
}
