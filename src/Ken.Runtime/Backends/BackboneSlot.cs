using Ken.Runtime.Tokenization;

namespace Ken.Runtime.Backends;

/// <summary>
/// What every backend keeps per slot whatever holds the weights: the task it serves, the per-run
/// scratch (tokens, outputs) that only the slot's current owner touches, and a busy flag that turns
/// a scheduler bug (patching or running a busy slot) into an exception instead of a corrupted run.
/// </summary>
internal sealed class BackboneSlot
{
    private int _busy;

    public BackboneSlot(TokenizedBatch batch, int hiddenCapacity, int poolerCapacity)
    {
        Batch = batch;
        Hidden = new float[hiddenCapacity];
        Pooled = poolerCapacity > 0 ? new float[poolerCapacity] : null;
    }

    public TokenizedBatch Batch { get; }

    /// <summary>last_hidden_state of the latest run, <c>[batch, sequence, hidden]</c> at the front.</summary>
    public float[] Hidden { get; }

    /// <summary>The graph's pooler output of the latest run, when the graph has one.</summary>
    public float[]? Pooled { get; }

    public BoundTask? Task { get; set; }

    /// <summary>Marks the slot busy (running or being swapped); false when it already was.</summary>
    public bool TryEnter() => Interlocked.CompareExchange(ref _busy, 1, 0) == 0;

    public void Exit() => Volatile.Write(ref _busy, 0);

    /// <summary>Enters slot <paramref name="index"/> of <paramref name="slots"/> or throws when it is busy or out of range.</summary>
    public static BackboneSlot Enter(BackboneSlot[] slots, int index, string what)
    {
        var slot = At(slots, index);
        if (!slot.TryEnter())
        {
            // The scheduler owns each slot exclusively; getting here means it swapped or ran a busy slot,
            // which would corrupt a run in flight, so fail loudly instead.
            throw new InvalidOperationException($"slot {index} is busy (running or being swapped) and cannot be {what} now");
        }

        return slot;
    }

    public static BackboneSlot At(BackboneSlot[] slots, int index)
    {
        if ((uint)index >= (uint)slots.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"the backbone has slots 0..{slots.Length - 1}");
        }

        return slots[index];
    }

    /// <summary>Throws unless the slot holds <paramref name="task"/>: running one task on another's weights would answer wrongly.</summary>
    public void RequireTask(int index, BoundTask task)
    {
        if (!ReferenceEquals(Task, task))
        {
            throw new InvalidOperationException(
                $"slot {index} holds {Task?.Name ?? "the base"}, not task '{task.Name}'; swap the task into the slot before running it");
        }
    }
}
