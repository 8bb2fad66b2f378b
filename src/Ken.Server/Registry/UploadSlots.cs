namespace Ken.Server.Registry;

/// <summary>
/// Bounds how many RegisterTask uploads are received at once (<c>--max-concurrent-uploads</c>), so a
/// client cannot hold unbounded temp files and connections; one past the bound gets
/// <see cref="TooManyUploadsException"/> (RESOURCE_EXHAUSTED) at once instead of waiting.
/// </summary>
public sealed class UploadSlots
{
    private int _inUse;

    public UploadSlots(int max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        Max = max;
    }

    public int Max { get; }

    /// <summary>Uploads being received now.</summary>
    public int InUse => Volatile.Read(ref _inUse);

    /// <summary>Takes a slot for one upload; dispose the result when the upload ends, however it ends.</summary>
    public IDisposable Enter()
    {
        if (Interlocked.Increment(ref _inUse) > Max)
        {
            Interlocked.Decrement(ref _inUse);
            throw new TooManyUploadsException(Max);
        }

        return new Slot(this);
    }

    private sealed class Slot(UploadSlots owner) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                Interlocked.Decrement(ref owner._inUse);
            }
        }
    }
}
