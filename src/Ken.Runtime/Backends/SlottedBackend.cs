using System.Runtime.CompilerServices;
using Ken.Format.Deltas;
using Ken.Runtime.Backbone;
using Ken.Runtime.Tasks;
using Ken.Runtime.Tokenization;
using Microsoft.ML.OnnxRuntime;

namespace Ken.Runtime.Backends;

/// <summary>
/// What every backend shares: the slots and their per-run scratch, one <see cref="OrtIoBinding"/> per
/// slot, the start-up check, and the run path (tokens in, pooling and head out). Backends differ only in
/// how a slot comes to hold a task (<see cref="SwapCore"/>), which session a slot runs on, and what their
/// bound task <typeparamref name="TTask"/> keeps.
/// </summary>
/// <remarks>
/// The typed members take only <typeparamref name="TTask"/>, so a caller holding the concrete backend cannot
/// hand it another backend's task; through <see cref="IInferenceBackend"/> such a task gets an
/// <see cref="ArgumentException"/>, as does a task of the same type bound by another instance.
/// </remarks>
public abstract class SlottedBackend<TTask> : IInferenceBackend
    where TTask : BoundTask
{
    private static readonly object BoundMarker = new();

    private readonly WeightSlot[] _slots;
    private readonly SlotScratch[] _scratch;
    private readonly OrtIoBinding?[] _bindings;

    // Weak: the registry forgets bound tasks (eviction, unregister) without telling the backend.
    private readonly ConditionalWeakTable<TTask, object> _boundHere = [];

    private protected SlottedBackend(string baseModel, EncoderPipeline pipeline, int slots)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        BaseModel = baseModel;
        Pipeline = pipeline;
        _slots = new WeightSlot[slots];
        _scratch = new SlotScratch[slots];
        _bindings = new OrtIoBinding?[slots];
        for (var i = 0; i < slots; i++)
        {
            _slots[i] = new WeightSlot(i);
            _scratch[i] = pipeline.CreateScratch();
        }
    }

    public string BaseModel { get; }

    public int SlotCount => _slots.Length;

    public IReadOnlyList<WeightSlot> Slots => _slots;

    public int MaxBatchSize => Pipeline.MaxBatchSize;

    public int HiddenSize => Pipeline.HiddenSize;

    public int MaxSequenceLength => Pipeline.MaxSequenceLength;

    /// <summary>True when the graph computes BERT's pooler itself (a <c>[batch, hidden]</c> output).</summary>
    public bool HasPoolerOutput => Pipeline.HasPoolerOutput;

    public ITextTokenizer Tokenizer => Pipeline.Tokenizer;

    public abstract long SlotBytes { get; }

    private protected EncoderPipeline Pipeline { get; }

    protected bool IsDisposed { get; private set; }

    /// <inheritdoc cref="IInferenceBackend.Bind"/>
    public TTask Bind(KenDelta delta)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        var task = BindCore(delta);
        _boundHere.Add(task, BoundMarker);
        return task;
    }

    /// <inheritdoc cref="IInferenceBackend.Swap"/>
    public SwapStats Swap(SlotLease lease, TTask? task)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        var index = lease.IndexIn(_slots);
        if (task is not null)
        {
            Own(task);
        }

        // Only this backend's swaps set what its slots hold, so the held task is always a TTask.
        var old = (TTask?)_slots[index].Task;
        if (ReferenceEquals(old, task))
        {
            return default;
        }

        var stats = SwapCore(lease, old, task);
        lease.CountSwap();
        return stats;
    }

    /// <inheritdoc cref="IInferenceBackend.Run"/>
    public TaskOutput Run(SlotLease lease, TTask task, IReadOnlyList<TokenizedText> texts)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(texts);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        var index = lease.IndexIn(_slots);
        Own(task);
        if (!ReferenceEquals(_slots[index].Task, task))
        {
            // Running one task on another's weights would answer wrongly.
            throw new InvalidOperationException(
                $"slot {index} holds {_slots[index].Task?.Name ?? "the base"}, not task '{task.Name}'; swap the task into the slot before running it");
        }

        var scratch = _scratch[index];
        var batch = Pipeline.Forward(SessionOf(index), Binding(index), scratch, texts);
        var output = Pipeline.Output(task.Spec, batch, scratch);
        lease.CountRun();
        return output;
    }

    /// <summary>Takes slot <paramref name="slot"/>'s lease (throws when it is out), swaps, and gives the lease back.</summary>
    public SwapStats Swap(int slot, TTask? task)
    {
        using var lease = SlotAt(slot).Enter("swapped");
        return Swap(lease, task);
    }

    /// <summary>Tokenizes <paramref name="texts"/>, then runs them on slot <paramref name="slot"/> under its lease (throws when it is out).</summary>
    public TaskOutput Run(int slot, TTask task, IReadOnlyList<string> texts)
    {
        var tokens = Tokenizer.Tokenize(texts);
        using var lease = SlotAt(slot).Enter("run");
        return Run(lease, task, tokens);
    }

    public void CheckSlots()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        for (var i = 0; i < _slots.Length; i++)
        {
            using var lease = _slots[i].Enter("checked");
            Pipeline.Check(SessionOf(i), Binding(i), _scratch[i], i, BaseModel);
        }
    }

    BoundTask IInferenceBackend.Bind(KenDelta delta) => Bind(delta);

    SwapStats IInferenceBackend.Swap(SlotLease lease, BoundTask? task) => Swap(lease, task is null ? null : Own(task));

    TaskOutput IInferenceBackend.Run(SlotLease lease, BoundTask task, IReadOnlyList<TokenizedText> texts) => Run(lease, Own(task), texts);

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// Runs <paramref name="texts"/> on whatever the slot holds and returns copies of
    /// <c>last_hidden_state</c> and the graph's pooler output (tests and benchmarks).
    /// </summary>
    internal (float[] Hidden, float[]? Pooled, int BatchSize, int SequenceLength) RunRaw(int slot, IReadOnlyList<string> texts)
    {
        var tokens = Tokenizer.Tokenize(texts);
        using var lease = SlotAt(slot).Enter("run");
        var batch = Pipeline.Forward(SessionOf(slot), Binding(slot), _scratch[slot], tokens);
        return Pipeline.Raw(batch, _scratch[slot]);
    }

    internal WeightSlot SlotAt(int slot)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if ((uint)slot >= (uint)_slots.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(slot), slot, $"the backbone has slots 0..{_slots.Length - 1}");
        }

        return _slots[slot];
    }

    /// <summary>Validates a delta against the backbone and prepares this backend's form of it.</summary>
    protected abstract TTask BindCore(KenDelta delta);

    /// <summary>
    /// Moves the leased slot from <paramref name="old"/> to <paramref name="task"/> (either null: the base)
    /// and records, through <see cref="SlotLease.Hold"/>, what the slot holds at every step that can fail.
    /// </summary>
    protected abstract SwapStats SwapCore(SlotLease lease, TTask? old, TTask? task);

    /// <summary>The session <paramref name="slot"/> runs on.</summary>
    protected abstract InferenceSession SessionOf(int slot);

    protected OrtIoBinding Binding(int slot) =>
        _bindings[slot] ?? throw new InvalidOperationException($"slot {slot} has no binding yet");

    /// <summary>Gives <paramref name="slot"/> a new binding, disposing the one it replaces.</summary>
    protected void ReplaceBinding(int slot, OrtIoBinding binding)
    {
        _bindings[slot]?.Dispose();
        _bindings[slot] = binding;
    }

    /// <summary>Disposes the slot bindings; overrides dispose what they own after calling this.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (IsDisposed)
        {
            return;
        }

        IsDisposed = true;
        if (disposing)
        {
            foreach (var binding in _bindings)
            {
                binding?.Dispose();
            }
        }
    }

    private TTask Own(BoundTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (task is not TTask typed || !_boundHere.TryGetValue(typed, out _))
        {
            throw new ArgumentException(
                $"task '{task.Name}' ({task.GetType().Name}) was not bound by this {GetType().Name} on {BaseModel}; call Bind on this backend first",
                nameof(task));
        }

        return typed;
    }
}
