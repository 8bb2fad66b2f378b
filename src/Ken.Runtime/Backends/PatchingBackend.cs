using System.Diagnostics;
using Ken.Format.Deltas;
using Ken.Runtime.Backbone;
using Ken.Runtime.Patching;
using Microsoft.ML.OnnxRuntime;

namespace Ken.Runtime.Backends;

/// <summary>
/// The default backend: one ONNX Runtime session over a BERT-family encoder whose weights are graph
/// inputs, a pristine copy of those weights, and <see cref="SlotCount"/> slots that each bind their own
/// weight buffers once. A swap patches a slot's buffers in place; a run binds only tokens and outputs.
/// </summary>
public sealed class PatchingBackend : SlottedBackend
{
    private readonly PromotedEncoder _encoder;
    private readonly WeightBinding[] _slotWeights;
    private readonly IWeightPatcher _patcher;
    private readonly DeltaBinder _binder;

    private PatchingBackend(BackboneOptions options, PromotedEncoder encoder)
        : base(options.Name ?? options.ModelPath, encoder.Pipeline, options.Slots)
    {
        _encoder = encoder;
        _patcher = options.Patcher ?? new CpuWeightPatcher();
        _binder = new DeltaBinder(encoder.TensorsByName, Pipeline.HiddenSize, Pipeline.HasPoolerOutput, BaseModel, this);
        _slotWeights = new WeightBinding[options.Slots];
        for (var i = 0; i < options.Slots; i++)
        {
            // Bound once: patching the buffers in place is all a swap needs, ONNX Runtime reads them on every run.
            _slotWeights[i] = new WeightBinding(encoder.Tensors, encoder.CopyPristine(), ownsWeights: true);
            var binding = encoder.Session.CreateIoBinding();
            ReplaceBinding(i, binding);
            _slotWeights[i].BindTo(binding);
        }
    }

    public int MaxSequenceLength => Pipeline.MaxSequenceLength;

    /// <summary>True when the graph computes BERT's pooler itself (a <c>[batch, hidden]</c> output).</summary>
    public bool HasPoolerOutput => Pipeline.HasPoolerOutput;

    public override long SlotBytes => _encoder.Pristine.TotalBytes;

    /// <summary>Number of weights bound as graph inputs (every float32 initializer).</summary>
    public int WeightCount => _encoder.Tensors.Length;

    internal WeightSet Pristine => _encoder.Pristine;

    internal IReadOnlyList<BackboneTensor> Tensors => _encoder.Tensors;

    /// <summary>Loads the backbone: rewrites the graph, reads the weights once and binds every slot.</summary>
    public static PatchingBackend Load(BackboneOptions options) =>
        PromotedEncoder.LoadBackend(options, encoder => new PatchingBackend(options, encoder));

    public override BoundTask Bind(KenDelta delta)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return _binder.Bind(delta);
    }

    public override SwapStats Swap(int slot, BoundTask? task)
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

    protected override void Dispose(bool disposing)
    {
        if (IsDisposed)
        {
            return;
        }

        base.Dispose(disposing);
        if (disposing)
        {
            foreach (var weights in _slotWeights)
            {
                weights.Dispose();
            }

            _encoder.Dispose();
        }
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
            var batch = Pipeline.Forward(_encoder.Session, Binding(slot), s, texts);
            return Pipeline.Raw(batch, s);
        }
        finally
        {
            s.Exit();
        }
    }

    /// <summary>The weight buffers of <paramref name="slot"/> (tests perturb them to prove the graph reads them).</summary>
    internal WeightSet SlotWeights(int slot) => _slotWeights[SlotIndex(slot)].Weights;

    private int SlotIndex(int slot)
    {
        SlotAt(slot);
        return slot;
    }

    protected override InferenceSession SessionOf(int slot) => _encoder.Session;

    protected override PreparedTask HeadsOf(BoundTask task) => Prepared(task);

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
