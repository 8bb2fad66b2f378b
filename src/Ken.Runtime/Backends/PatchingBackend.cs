using System.Diagnostics;
using Ken.Format.Deltas;
using Ken.Runtime.Backbone;
using Ken.Runtime.Patching;
using Ken.Runtime.Tasks;
using Microsoft.ML.OnnxRuntime;

namespace Ken.Runtime.Backends;

/// <summary>
/// The default backend: one ONNX Runtime session over a BERT-family encoder whose weights are graph
/// inputs, a pristine copy of those weights, and <see cref="SlotCount"/> slots that each bind their own
/// weight buffers once. A swap patches a slot's buffers in place; a run binds only tokens and outputs.
/// </summary>
public sealed class PatchingBackend : SlottedBackend<PatchedTask>
{
    private readonly PromotedEncoder _encoder;
    private readonly WeightBinding[] _slotWeights;
    private readonly IWeightPatcher _patcher;
    private readonly DeltaBinder _binder;

    private PatchingBackend(BackboneOptions options, PromotedEncoder encoder)
        : base(options.Name ?? options.ModelPath, encoder.Pipeline, options.SlotCountFor(encoder.Pristine.TotalBytes))
    {
        _encoder = encoder;
        _patcher = options.Patcher ?? new CpuWeightPatcher();
        _binder = new DeltaBinder(encoder.TensorsByName, Pipeline.HiddenSize, Pipeline.HasPoolerOutput, BaseModel);
        _slotWeights = new WeightBinding[SlotCount];
        for (var i = 0; i < SlotCount; i++)
        {
            // Bound once: patching the buffers in place is all a swap needs, ONNX Runtime reads them on every run.
            _slotWeights[i] = new WeightBinding(encoder.Tensors, encoder.CopyPristine(), ownsWeights: true);
            var binding = encoder.Session.CreateIoBinding();
            ReplaceBinding(i, binding);
            _slotWeights[i].BindTo(binding);
        }
    }

    public override long SlotBytes => _encoder.Pristine.TotalBytes;

    /// <summary>Number of weights bound as graph inputs (every float32 initializer).</summary>
    public int WeightCount => _encoder.Tensors.Length;

    internal WeightSet Pristine => _encoder.Pristine;

    internal IReadOnlyList<BackboneTensor> Tensors => _encoder.Tensors;

    /// <summary>Loads the backbone: rewrites the graph, reads the weights once and binds every slot.</summary>
    public static PatchingBackend Load(BackboneOptions options) =>
        PromotedEncoder.LoadBackend(options, encoder => new PatchingBackend(options, encoder));

    protected override PatchedTask BindCore(KenDelta delta)
    {
        var bound = _binder.Bind(delta);
        return new PatchedTask(bound.Spec, bound.Patches, bound.HeadBytes);
    }

    protected override SwapStats SwapCore(SlotLease lease, PatchedTask? old, PatchedTask? task)
    {
        var weights = _slotWeights[lease.Index].Weights;
        var start = Stopwatch.GetTimestamp();
        if (old is not null && task is not null)
        {
            // A task switch: restore and apply fused, one pass over each touched buffer.
            lease.Hold(null);
            (long Applied, long Restored) moved;
            try
            {
                moved = _patcher.Replace(weights, _encoder.Pristine, old.Patches, task.Patches);
            }
            catch
            {
                // A half-moved slot serves neither model; put the base back before reporting.
                _patcher.Restore(weights, _encoder.Pristine, old.Patches);
                _patcher.Restore(weights, _encoder.Pristine, task.Patches);
                throw;
            }

            lease.Hold(task);
            return new SwapStats(TimeSpan.Zero, Stopwatch.GetElapsedTime(start), moved.Restored, moved.Applied);
        }

        long restored = 0;
        if (old is not null)
        {
            lease.Hold(null);
            restored = _patcher.Restore(weights, _encoder.Pristine, old.Patches);
        }

        var restoredAt = Stopwatch.GetTimestamp();
        long applied = 0;
        if (task is not null)
        {
            try
            {
                applied = _patcher.Apply(weights, task.Patches);
            }
            catch
            {
                // A half-applied task would serve neither model; put the base back before reporting.
                _patcher.Restore(weights, _encoder.Pristine, task.Patches);
                throw;
            }

            lease.Hold(task);
        }

        var appliedAt = Stopwatch.GetTimestamp();
        return new SwapStats(
            Stopwatch.GetElapsedTime(start, restoredAt), Stopwatch.GetElapsedTime(restoredAt, appliedAt), restored, applied);
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

    /// <summary>The weight buffers of <paramref name="slot"/> (tests perturb them to prove the graph reads them).</summary>
    internal WeightSet SlotWeights(int slot) => _slotWeights[SlotIndex(slot)].Weights;

    private int SlotIndex(int slot)
    {
        SlotAt(slot);
        return slot;
    }

    protected override InferenceSession SessionOf(int slot) => _encoder.Session;
}
