using System.Diagnostics;
using Ken.Pruning.Deltas;
using Ken.Server.Patching;
using Microsoft.ML.OnnxRuntime;

namespace Ken.Server.Runtime;

/// <summary>
/// The default backend: one ONNX Runtime session over a BERT-family encoder whose weights are graph
/// inputs, a pristine copy of those weights, and <see cref="SlotCount"/> slots that each bind their own
/// weight buffers once. A swap patches a slot's buffers in place; a run binds only tokens and outputs.
/// </summary>
public sealed class PatchingBackend : IInferenceBackend
{
    private readonly PromotedEncoder _encoder;
    private readonly BackboneSlot[] _slots;
    private readonly WeightBinding[] _slotWeights;
    private readonly OrtIoBinding[] _bindings;
    private readonly IWeightPatcher _patcher;
    private readonly DeltaBinder _binder;
    private bool _disposed;

    private PatchingBackend(BackboneOptions options, PromotedEncoder encoder)
    {
        BaseModel = options.Name ?? options.ModelPath;
        _encoder = encoder;
        _patcher = options.Patcher ?? new CpuWeightPatcher();
        var pipeline = encoder.Pipeline;
        _binder = new DeltaBinder(encoder.TensorsByName, pipeline.HiddenSize, pipeline.HasPoolerOutput, BaseModel, this);
        _slots = new BackboneSlot[options.Slots];
        _slotWeights = new WeightBinding[options.Slots];
        _bindings = new OrtIoBinding[options.Slots];
        for (var i = 0; i < _slots.Length; i++)
        {
            _slots[i] = pipeline.CreateSlot();

            // Bound once: patching the buffers in place is all a swap needs, ONNX Runtime reads them on every run.
            _slotWeights[i] = new WeightBinding(encoder.Tensors, encoder.CopyPristine(), ownsWeights: true);
            _bindings[i] = encoder.Session.CreateIoBinding();
            _slotWeights[i].BindTo(_bindings[i]);
        }
    }

    public string BaseModel { get; }

    public int SlotCount => _slots.Length;

    public int MaxBatchSize => _encoder.Pipeline.MaxBatchSize;

    public int MaxSequenceLength => _encoder.Pipeline.MaxSequenceLength;

    public int HiddenSize => _encoder.Pipeline.HiddenSize;

    /// <summary>True when the graph computes BERT's pooler itself (a <c>[batch, hidden]</c> output).</summary>
    public bool HasPoolerOutput => _encoder.Pipeline.HasPoolerOutput;

    public long SlotBytes => _encoder.Pristine.TotalBytes;

    /// <summary>Number of weights bound as graph inputs (every float32 initializer).</summary>
    public int WeightCount => _encoder.Tensors.Length;

    internal WeightSet Pristine => _encoder.Pristine;

    internal IReadOnlyList<BackboneTensor> Tensors => _encoder.Tensors;

    /// <summary>Loads the backbone: rewrites the graph, reads the weights once and binds every slot.</summary>
    public static PatchingBackend Load(BackboneOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Slots, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchSize, 1);
        var encoder = PromotedEncoder.Load(options);
        try
        {
            return new PatchingBackend(options, encoder);
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
    }

    public BoundTask Bind(KenDelta delta)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _binder.Bind(delta);
    }

    public void CheckSlots()
    {
        for (var i = 0; i < _slots.Length; i++)
        {
            var s = Enter(i, "checked");
            try
            {
                _encoder.Pipeline.Check(_encoder.Session, _bindings[i], s, i, BaseModel);
            }
            finally
            {
                s.Exit();
            }
        }
    }

    public BoundTask? SlotTask(int slot) => SlotAt(slot).Task;

    public SwapStats Swap(int slot, BoundTask? task)
    {
        var prepared = task is null ? null : Prepared(task);
        var s = Enter(slot, "swapped");
        try
        {
            var old = s.Task;
            if (ReferenceEquals(old, task))
            {
                return default;
            }

            var weights = _slotWeights[slot].Weights;
            var start = Stopwatch.GetTimestamp();
            if (old is not null && prepared is not null)
            {
                // A task switch: restore and apply fused, one pass over each touched buffer.
                s.Task = null;
                (long Applied, long Restored) moved;
                try
                {
                    moved = _patcher.Replace(weights, _encoder.Pristine, (PreparedTask)old.State, prepared);
                }
                catch
                {
                    // A half-moved slot serves neither model; put the base back before reporting.
                    _patcher.Restore(weights, _encoder.Pristine, (PreparedTask)old.State);
                    _patcher.Restore(weights, _encoder.Pristine, prepared);
                    throw;
                }

                s.Task = task;
                return new SwapStats(TimeSpan.Zero, Stopwatch.GetElapsedTime(start), moved.Restored, moved.Applied);
            }

            long restored = 0;
            if (old is not null)
            {
                s.Task = null;
                restored = _patcher.Restore(weights, _encoder.Pristine, (PreparedTask)old.State);
            }

            var restoredAt = Stopwatch.GetTimestamp();
            long applied = 0;
            if (prepared is not null)
            {
                try
                {
                    applied = _patcher.Apply(weights, prepared);
                }
                catch
                {
                    // A half-applied task would serve neither model; put the base back before reporting.
                    _patcher.Restore(weights, _encoder.Pristine, prepared);
                    throw;
                }

                s.Task = task;
            }

            var appliedAt = Stopwatch.GetTimestamp();
            return new SwapStats(
                Stopwatch.GetElapsedTime(start, restoredAt), Stopwatch.GetElapsedTime(restoredAt, appliedAt), restored, applied);
        }
        finally
        {
            s.Exit();
        }
    }

    public TaskOutput Run(int slot, BoundTask task, IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var prepared = Prepared(task);
        var s = Enter(slot, "run");
        try
        {
            s.RequireTask(slot, task);
            var batch = _encoder.Pipeline.Forward(_encoder.Session, _bindings[slot], s, texts);
            return _encoder.Pipeline.Output(task, prepared, batch, s);
        }
        finally
        {
            s.Exit();
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        for (var i = 0; i < _slots.Length; i++)
        {
            _bindings[i].Dispose();
            _slotWeights[i].Dispose();
        }

        _encoder.Dispose();
    }

    /// <summary>
    /// Runs <paramref name="texts"/> on whatever the slot holds and returns copies of
    /// <c>last_hidden_state</c> and the graph's pooler output (tests and benchmarks).
    /// </summary>
    internal (float[] Hidden, float[]? Pooled, int BatchSize, int SequenceLength) RunRaw(int slot, IReadOnlyList<string> texts)
    {
        var s = Enter(slot, "run");
        try
        {
            var batch = _encoder.Pipeline.Forward(_encoder.Session, _bindings[slot], s, texts);
            return _encoder.Pipeline.Raw(batch, s);
        }
        finally
        {
            s.Exit();
        }
    }

    /// <summary>The weight buffers of <paramref name="slot"/> (tests perturb them to prove the graph reads them).</summary>
    internal WeightSet SlotWeights(int slot) => _slotWeights[SlotIndex(slot)].Weights;

    internal BackboneSlot SlotAt(int slot)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return BackboneSlot.At(_slots, slot);
    }

    private int SlotIndex(int slot)
    {
        SlotAt(slot);
        return slot;
    }

    private BackboneSlot Enter(int slot, string what)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return BackboneSlot.Enter(_slots, slot, what);
    }

    private PreparedTask Prepared(BoundTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (task.State is not PreparedTask prepared || !ReferenceEquals(prepared.Owner, this))
        {
            throw new ArgumentException($"task '{task.Name}' was not bound by this backbone; call Bind on it first", nameof(task));
        }

        return prepared;
    }
}
