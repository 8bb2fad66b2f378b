using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using Ken.Runtime.Tasks;

namespace Ken.Runtime.Backends;

/// <summary>
/// One weight slot of a backend as everyone sees it: the task it holds, whether someone holds its lease
/// (swapping or running it), and how often it was swapped and run. The backend owns it; the scheduler
/// reads it to decide, and takes a <see cref="SlotLease"/> to use the slot.
/// </summary>
public sealed class WeightSlot
{
    private BoundTask? _task;
    private int _busy;
    private long _swaps;
    private long _runs;
    private long _lastUsed;

    public WeightSlot(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        Index = index;
    }

    public int Index { get; }

    /// <summary>The task the slot's weights hold now; null for the plain base.</summary>
    public BoundTask? Task => Volatile.Read(ref _task);

    /// <summary>True while a lease is out (the slot is being swapped or run, or reserved for that).</summary>
    public bool IsBusy => Volatile.Read(ref _busy) != 0;

    /// <summary>Swaps that changed what the slot holds.</summary>
    public long SwapCount => Interlocked.Read(ref _swaps);

    /// <summary>Batches run on the slot.</summary>
    public long RunCount => Interlocked.Read(ref _runs);

    /// <summary>When the latest lease ended (<see cref="Stopwatch"/> timestamp); 0 when the slot was never used.</summary>
    public long LastUsedTimestamp => Interlocked.Read(ref _lastUsed);

    /// <summary>Takes the slot's lease unless someone holds it already.</summary>
    public bool TryEnter([NotNullWhen(true)] out SlotLease? lease)
    {
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            lease = null;
            return false;
        }

        lease = new SlotLease(this);
        return true;
    }

    /// <summary>Takes the slot's lease or throws <see cref="InvalidOperationException"/> when it is out.</summary>
    /// <param name="what">What the caller is about to do, for the message (e.g. <c>swapped</c>).</param>
    public SlotLease Enter(string what)
    {
        if (!TryEnter(out var lease))
        {
            // Swapping or running a slot someone else holds would corrupt a run in flight, so fail loudly instead.
            throw new InvalidOperationException($"slot {Index} is busy (running or being swapped) and cannot be {what} now");
        }

        return lease;
    }

    internal void Hold(BoundTask? task) => Volatile.Write(ref _task, task);

    internal void CountSwap() => Interlocked.Increment(ref _swaps);

    internal void CountRun() => Interlocked.Increment(ref _runs);

    internal void Exit()
    {
        Interlocked.Exchange(ref _lastUsed, Stopwatch.GetTimestamp());
        Volatile.Write(ref _busy, 0);
    }
}
