using Ken.Format.Deltas;

namespace Ken.Runtime.Backends;

/// <summary>
/// What the scheduler needs from a backbone runtime: bind task deltas, switch the task a slot holds,
/// and run a batch on a slot. Implementations: patch in place (default), reload (a new session per
/// switch), resident (every task in its own buffers).
/// </summary>
/// <remarks>
/// Thread-safety contract: different slots may be swapped and run concurrently; the caller never
/// swaps or runs a slot while that same slot is running (the scheduler owns each slot exclusively).
/// </remarks>
public interface IInferenceBackend : IDisposable
{
    /// <summary>A short description of the backbone (e.g. <c>minilm</c> or its model path).</summary>
    string BaseModel { get; }

    /// <summary>Number of weight slots (tasks that can be materialized at once).</summary>
    int SlotCount { get; }

    /// <summary>Most texts one <see cref="Run"/> accepts.</summary>
    int MaxBatchSize { get; }

    /// <summary>Bytes of one slot's weight buffers (what materializing a task costs).</summary>
    long SlotBytes { get; }

    /// <summary>
    /// Validates <paramref name="delta"/> against the backbone and prepares it for fast swaps.
    /// Throws <see cref="DeltaMismatchException"/> when it was built for another base (fingerprint,
    /// missing tensor or shape), <see cref="Ken.Format.KenException"/> for any other invalid delta.
    /// </summary>
    BoundTask Bind(KenDelta delta);

    /// <summary>
    /// Runs a short text through every slot as it stands and checks that the encoder answers with finite
    /// values; throws <see cref="Ken.Format.KenException"/> otherwise. The server calls it once before it
    /// reports SERVING (it also warms ONNX Runtime up), never while slots are in use.
    /// </summary>
    void CheckSlots();

    /// <summary>The task slot <paramref name="slot"/> holds now; null when it holds the plain base.</summary>
    BoundTask? SlotTask(int slot);

    /// <summary>
    /// Makes <paramref name="slot"/> hold <paramref name="task"/> (null: the plain base): restores the
    /// previous task's positions from the pristine weights, then writes the new task's values.
    /// </summary>
    SwapStats Swap(int slot, BoundTask? task);

    /// <summary>
    /// Runs <paramref name="texts"/> through <paramref name="slot"/>, which must hold
    /// <paramref name="task"/>, and applies the task's pooling, normalization and head.
    /// Throws <see cref="Ken.Format.KenException"/> for bad input (empty text, batch too large).
    /// </summary>
    TaskOutput Run(int slot, BoundTask task, IReadOnlyList<string> texts);
}
