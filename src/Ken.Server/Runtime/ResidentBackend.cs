using System.Diagnostics;
using Ken.Pruning.Deltas;
using Ken.Server.Patching;
using Microsoft.ML.OnnxRuntime;

namespace Ken.Server.Runtime;

/// <summary>
/// The memory-hungry upper bound (<c>--swap-mode resident</c>): every bound task gets its own full set of
/// weight buffers holding its reconstructed weights, built once at <see cref="Bind"/>. A swap only points
/// the slot's binding at that set, so switching tasks costs no copying; each bound task costs a whole
/// copy of the backbone's weights in host memory.
/// </summary>
public sealed class ResidentBackend : IInferenceBackend
{
    private readonly PromotedEncoder _encoder;
    private readonly WeightBinding _pristine;
    private readonly BackboneSlot[] _slots;
    private readonly OrtIoBinding[] _bindings;
    private readonly IWeightPatcher _patcher;
    private readonly DeltaBinder _binder;
    private bool _disposed;

    private ResidentBackend(BackboneOptions options, PromotedEncoder encoder)
    {
        BaseModel = options.Name ?? options.ModelPath;
        _encoder = encoder;
        _patcher = options.Patcher ?? new CpuWeightPatcher();
        var pipeline = encoder.Pipeline;
        _binder = new DeltaBinder(encoder.TensorsByName, pipeline.HiddenSize, pipeline.HasPoolerOutput, BaseModel, this);

        // The base needs no buffers of its own: nothing ever writes to the pristine weights.
        _pristine = new WeightBinding(encoder.Tensors, encoder.Pristine, ownsWeights: false);
        _slots = new BackboneSlot[options.Slots];
        _bindings = new OrtIoBinding[options.Slots];
        for (var i = 0; i < _slots.Length; i++)
        {
            _slots[i] = pipeline.CreateSlot();
            _bindings[i] = encoder.Session.CreateIoBinding();
            _pristine.BindTo(_bindings[i]);
        }
    }

    public string BaseModel { get; }

    public int SlotCount => _slots.Length;

    public int MaxBatchSize => _encoder.Pipeline.MaxBatchSize;

    public int HiddenSize => _encoder.Pipeline.HiddenSize;

    /// <summary>
    /// Zero: a slot holds no weights of its own, it points at the task's set, whose bytes count in
    /// <see cref="BoundTask.ResidentBytes"/> (the host tier) from the moment the task is bound.
    /// </summary>
    public long SlotBytes => 0;

    /// <summary>Bytes of one task's weight set (what binding a task costs on top of its head).</summary>
    public long TaskWeightBytes => _encoder.Pristine.TotalBytes;

    public static ResidentBackend Load(BackboneOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Slots, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchSize, 1);
        var encoder = PromotedEncoder.Load(options);
        try
        {
            return new ResidentBackend(options, encoder);
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
        var bound = _binder.Bind(delta);
        var prepared = (PreparedTask)bound.State;
        var weights = _encoder.CopyPristine();
        WeightBinding? binding = null;
        try
        {
            _patcher.Apply(weights, prepared);
            binding = new WeightBinding(_encoder.Tensors, weights, ownsWeights: true);
        }
        catch
        {
            weights.Dispose();
            throw;
        }

        long patchBytes = 0;
        foreach (var patch in prepared.Patches)
        {
            patchBytes += patch.ResidentBytes;
        }

        // The patches are spent once applied; only the head and the full weights stay resident.
        var heads = new PreparedTask(this, [], prepared.Pooler, prepared.Classifier, prepared.UsesGraphPooler);
        var headBytes = bound.ResidentBytes - patchBytes;
        return new BoundTask(delta.Metadata, headBytes + weights.TotalBytes, new ResidentTask(heads, binding));
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
        var resident = task is null ? null : Resident(task);
        var s = Enter(slot, "swapped");
        try
        {
            if (ReferenceEquals(s.Task, task))
            {
                return default;
            }

            var start = Stopwatch.GetTimestamp();

            // Every weight input is bound again, so the binding keeps no reference to the previous task's buffers.
            (resident?.Weights ?? _pristine).BindTo(_bindings[slot]);
            s.Task = task;
            return new SwapStats(TimeSpan.Zero, Stopwatch.GetElapsedTime(start), 0, 0);
        }
        finally
        {
            s.Exit();
        }
    }

    public TaskOutput Run(int slot, BoundTask task, IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var resident = Resident(task);
        var s = Enter(slot, "run");
        try
        {
            s.RequireTask(slot, task);
            var batch = _encoder.Pipeline.Forward(_encoder.Session, _bindings[slot], s, texts);
            return _encoder.Pipeline.Output(task, resident.Heads, batch, s);
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
        foreach (var binding in _bindings)
        {
            binding.Dispose();
        }

        _pristine.Dispose();
        _encoder.Dispose();
    }

    private BackboneSlot SlotAt(int slot)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return BackboneSlot.At(_slots, slot);
    }

    private BackboneSlot Enter(int slot, string what)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return BackboneSlot.Enter(_slots, slot, what);
    }

    private ResidentTask Resident(BoundTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (task.State is not ResidentTask resident || !ReferenceEquals(resident.Heads.Owner, this))
        {
            throw new ArgumentException($"task '{task.Name}' was not bound by this backend; call Bind on it first", nameof(task));
        }

        return resident;
    }
}
