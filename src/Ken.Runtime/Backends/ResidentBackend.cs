using System.Diagnostics;
using Ken.Format.Deltas;
using Ken.Runtime.Backbone;
using Ken.Runtime.Patching;
using Ken.Runtime.Tasks;
using Microsoft.ML.OnnxRuntime;

namespace Ken.Runtime.Backends;

/// <summary>
/// The memory-hungry upper bound (<c>--swap-mode resident</c>): every bound task gets its own full set of
/// weight buffers holding its reconstructed weights, built once at <see cref="Bind"/>. A swap only points
/// the slot's binding at that set, so switching tasks costs no copying; each bound task costs a whole
/// copy of the backbone's weights in host memory.
/// </summary>
public sealed class ResidentBackend : SlottedBackend<ResidentTask>
{
    private readonly PromotedEncoder _encoder;
    private readonly WeightBinding _pristine;
    private readonly IWeightPatcher _patcher;
    private readonly DeltaBinder _binder;

    private ResidentBackend(BackboneOptions options, PromotedEncoder encoder)
        : base(options.Name ?? options.ModelPath, encoder.Pipeline, options.Slots)
    {
        _encoder = encoder;
        _patcher = options.Patcher ?? new CpuWeightPatcher();
        _binder = new DeltaBinder(encoder.TensorsByName, Pipeline.HiddenSize, Pipeline.HasPoolerOutput, BaseModel);

        // The base needs no buffers of its own: nothing ever writes to the pristine weights.
        _pristine = new WeightBinding(encoder.Tensors, encoder.Pristine, ownsWeights: false);
        for (var i = 0; i < options.Slots; i++)
        {
            var binding = encoder.Session.CreateIoBinding();
            ReplaceBinding(i, binding);
            _pristine.BindTo(binding);
        }
    }

    /// <summary>
    /// Zero: a slot holds no weights of its own, it points at the task's set, whose bytes count in
    /// <see cref="BoundTask.ResidentBytes"/> (the host tier) from the moment the task is bound.
    /// </summary>
    public override long SlotBytes => 0;

    /// <summary>Bytes of one task's weight set (what binding a task costs on top of its head).</summary>
    public long TaskWeightBytes => _encoder.Pristine.TotalBytes;

    public static ResidentBackend Load(BackboneOptions options) =>
        PromotedEncoder.LoadBackend(options, encoder => new ResidentBackend(options, encoder));

    protected override ResidentTask BindCore(KenDelta delta)
    {
        var bound = _binder.Bind(delta);
        var weights = _encoder.CopyPristine();
        WeightBinding binding;
        try
        {
            _patcher.Apply(weights, bound.Patches);
            binding = new WeightBinding(_encoder.Tensors, weights, ownsWeights: true);
        }
        catch
        {
            weights.Dispose();
            throw;
        }

        // The patches are spent once applied; only the head and the full weights stay resident.
        return new ResidentTask(bound.Spec, binding, bound.HeadBytes);
    }

    protected override SwapStats SwapCore(SlotLease lease, ResidentTask? old, ResidentTask? task)
    {
        var start = Stopwatch.GetTimestamp();

        // Every weight input is bound again, so the binding keeps no reference to the previous task's buffers.
        (task?.Weights ?? _pristine).BindTo(Binding(lease.Index));
        lease.Hold(task);
        return new SwapStats(TimeSpan.Zero, Stopwatch.GetElapsedTime(start), 0, 0);
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
            _pristine.Dispose();
            _encoder.Dispose();
        }
    }

    protected override InferenceSession SessionOf(int slot) => _encoder.Session;
}
