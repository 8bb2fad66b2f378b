using Ken.Format.Deltas;
using Ken.Runtime.Backbone;
using Ken.Runtime.Patching;
using Microsoft.ML.OnnxRuntime;

namespace Ken.Runtime.Backends;

/// <summary>
/// What every backend shares: the slots with their busy guard and the task each holds, one
/// <see cref="OrtIoBinding"/> per slot, the start-up check, and the run path (tokens in, pooling and
/// head out). Backends differ only in how a slot comes to hold a task (<see cref="Swap"/>), which
/// session a slot runs on, and where a bound task keeps its head.
/// </summary>
public abstract class SlottedBackend : IInferenceBackend
{
    private readonly BackboneSlot[] _slots;
    private readonly OrtIoBinding?[] _bindings;

    private protected SlottedBackend(string baseModel, EncoderPipeline pipeline, int slots)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        BaseModel = baseModel;
        Pipeline = pipeline;
        _slots = new BackboneSlot[slots];
        _bindings = new OrtIoBinding?[slots];
        for (var i = 0; i < slots; i++)
        {
            _slots[i] = pipeline.CreateSlot();
        }
    }

    public string BaseModel { get; }

    public int SlotCount => _slots.Length;

    public int MaxBatchSize => Pipeline.MaxBatchSize;

    public int HiddenSize => Pipeline.HiddenSize;

    public abstract long SlotBytes { get; }

    private protected EncoderPipeline Pipeline { get; }

    protected bool IsDisposed { get; private set; }

    public abstract BoundTask Bind(KenDelta delta);

    public abstract SwapStats Swap(int slot, BoundTask? task);

    public void CheckSlots()
    {
        for (var i = 0; i < _slots.Length; i++)
        {
            var s = Enter(i, "checked");
            try
            {
                Pipeline.Check(SessionOf(i), Binding(i), s, i, BaseModel);
            }
            finally
            {
                s.Exit();
            }
        }
    }

    public BoundTask? SlotTask(int slot) => SlotAt(slot).Task;

    public TaskOutput Run(int slot, BoundTask task, IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var heads = HeadsOf(task);
        var s = Enter(slot, "run");
        try
        {
            s.RequireTask(slot, task);
            var batch = Pipeline.Forward(SessionOf(slot), Binding(slot), s, texts);
            return Pipeline.Output(task, heads, batch, s);
        }
        finally
        {
            s.Exit();
        }
    }

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    internal BackboneSlot SlotAt(int slot)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return BackboneSlot.At(_slots, slot);
    }

    /// <summary>The session <paramref name="slot"/> runs on.</summary>
    protected abstract InferenceSession SessionOf(int slot);

    /// <summary>The pooling and head layers of <paramref name="task"/>; throws when another backend bound it.</summary>
    protected abstract PreparedTask HeadsOf(BoundTask task);

    protected OrtIoBinding Binding(int slot) =>
        _bindings[slot] ?? throw new InvalidOperationException($"slot {slot} has no binding yet");

    /// <summary>Gives <paramref name="slot"/> a new binding, disposing the one it replaces.</summary>
    protected void ReplaceBinding(int slot, OrtIoBinding binding)
    {
        _bindings[slot]?.Dispose();
        _bindings[slot] = binding;
    }

    /// <summary>Marks the slot busy for <paramref name="what"/>; the caller must <see cref="BackboneSlot.Exit"/> it.</summary>
    private protected BackboneSlot Enter(int slot, string what)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return BackboneSlot.Enter(_slots, slot, what);
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
}
