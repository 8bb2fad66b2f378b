using Ken.Cuda.Driver;
using Ken.Cuda.Memory;

namespace Ken.Cuda.Patching;

/// <summary>
/// Writes a device buffer front to back through the pinned staging buffer: bytes accumulate in staging,
/// a full staging buffer is queued as one host-to-device copy, and the stream is synchronized before the
/// staging buffer is filled again (the queued copy reads it until then). One buffer, no overlap of fill and
/// copy: binding is off the hot path, and the simple order is easy to check against the fake driver. <see cref="Finish"/> flushes
/// and waits, so the device holds everything when it returns.
/// </summary>
internal sealed class StagedUpload
{
    private readonly PinnedHostBuffer staging;
    private readonly CudaStream stream;
    private readonly DeviceBuffer target;
    private long flushedTo;
    private int used;

    public StagedUpload(PinnedHostBuffer staging, CudaStream stream, DeviceBuffer target, long start = 0)
    {
        this.staging = staging;
        this.stream = stream;
        this.target = target;
        flushedTo = start;
    }

    /// <summary>Device offset the next byte lands at.</summary>
    public long Position => flushedTo + used;

    public void Write(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var room = (int)Math.Min(staging.Bytes - used, bytes.Length);
            bytes[..room].CopyTo(staging.AsSpan(used, room));
            used += room;
            bytes = bytes[room..];
            if (used == staging.Bytes)
            {
                Flush();
            }
        }
    }

    /// <summary>Pads with zeros up to device offset <paramref name="offset"/> (alignment gaps stay defined).</summary>
    public void ZeroTo(long offset)
    {
        if (offset < Position)
        {
            throw new InvalidOperationException($"upload is at {Position}, past {offset}");
        }

        while (Position < offset)
        {
            var room = (int)Math.Min(staging.Bytes - used, offset - Position);
            staging.AsSpan(used, room).Clear();
            used += room;
            if (used == staging.Bytes)
            {
                Flush();
            }
        }
    }

    /// <summary>Queues what is left and waits for it (every flush waits, so nothing earlier is pending).</summary>
    public void Finish() => Flush();

    private void Flush()
    {
        if (used == 0)
        {
            return;
        }

        target.CopyFromHostAsync(flushedTo, staging, 0, used, stream);
        flushedTo += used;
        used = 0;
        // The queued copy reads staging until the stream passes it; the next fill must wait for that.
        stream.Synchronize();
    }
}
