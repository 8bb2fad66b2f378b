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

    /// <summary>Raised with <see cref="InUse"/> after an upload takes or gives back a slot (tests await it).</summary>
    public event Action<int>? InUseChanged;

    /// <summary>Uploads being received now.</summary>
    public int InUse => Volatile.Read(ref _inUse);

    /// <summary>Takes a slot for one upload; dispose the result when the upload ends, however it ends.</summary>
    public IDisposable Enter()
    {
        var inUse = Interlocked.Increment(ref _inUse);
        if (inUse > Max)
        {
            Interlocked.Decrement(ref _inUse);
            throw new TooManyUploadsException(Max);
        }

        InUseChanged?.Invoke(inUse);
        return new Slot(this);
    }

    private sealed class Slot(UploadSlots owner) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                // Decrement first: with no subscriber, ?.Invoke would skip evaluating its argument.
                var inUse = Interlocked.Decrement(ref owner._inUse);
                owner.InUseChanged?.Invoke(inUse);
            }
        }
    }
}
