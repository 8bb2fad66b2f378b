using Ken.Format.Deltas;
using Ken.Runtime.Tasks;
using Ken.Runtime.Tokenization;

namespace Ken.Runtime.Backends;

/// <summary>
/// What the scheduler needs from a backbone runtime: tokenize, bind task deltas, switch the task a slot
/// holds, and run tokenized texts on a slot. Implementations: patch in place (default), reload (a new
/// session per switch), resident (every task in its own buffers).
/// </summary>
/// <remarks>
/// Thread-safety contract: a slot is swapped and run only under its <see cref="SlotLease"/> (see
/// <see cref="WeightSlot.TryEnter"/>), so different slots may be used concurrently and one slot is never
/// patched during a run. <see cref="Bind"/> and the tokenizer may be called from any thread.
/// </remarks>
public interface IInferenceBackend : IDisposable
{
    /// <summary>A short description of the backbone (e.g. <c>minilm</c> or its model path).</summary>
    string BaseModel { get; }

    /// <summary>Number of weight slots (tasks that can be materialized at once).</summary>
    int SlotCount { get; }

    /// <summary>The slots: what each holds, whether it is leased, its swap and run counts.</summary>
    IReadOnlyList<WeightSlot> Slots { get; }

    /// <summary>Most texts one <see cref="Run"/> accepts.</summary>
    int MaxBatchSize { get; }

    /// <summary>Bytes of one slot's weight buffers (what materializing a task costs).</summary>
    long SlotBytes { get; }

    /// <summary>The backbone's tokenizer; texts are tokenized when a request is admitted, not on a slot.</summary>
    ITextTokenizer Tokenizer { get; }

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

    /// <summary>
    /// Makes the leased slot hold <paramref name="task"/> (null: the plain base): restores the previous
    /// task's positions from the pristine weights, then writes the new task's values. Throws
    /// <see cref="ArgumentException"/> for a task another backend bound.
    /// </summary>
    SwapStats Swap(SlotLease lease, BoundTask? task);

    /// <summary>
    /// Runs <paramref name="texts"/> through the leased slot, which must hold <paramref name="task"/>, and
    /// applies the task's pooling, normalization and head. Throws <see cref="Ken.Format.KenException"/> for
    /// a batch larger than <see cref="MaxBatchSize"/> or an empty one.
    /// </summary>
    TaskOutput Run(SlotLease lease, BoundTask task, IReadOnlyList<TokenizedText> texts);
}
