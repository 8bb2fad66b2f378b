using System.Diagnostics;
using Ken.Format.Checkpoints.Onnx;
using Ken.Format.Deltas;
using Ken.Runtime.Backbone;
using Ken.Runtime.Tasks;
using Microsoft.ML.OnnxRuntime;
using SessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;

namespace Ken.Runtime.Backends;

/// <summary>
/// The naive baseline (<c>--swap-mode reload</c>): each slot runs its own ONNX Runtime session whose
/// initializers hold one task's weights. Switching a slot to another task reconstructs that task's
/// weights from the base checkpoint and its delta, serializes a new model and builds a new session,
/// as a server without in-place patching would. The base runs the original model file.
/// </summary>
public sealed class ReloadBackend : SlottedBackend<ReloadTask>
{
    private readonly string _modelPath;
    private readonly OnnxCheckpoint _checkpoint;
    private readonly Lock _checkpointGate = new();
    private readonly SessionOptions _sessionOptions;
    private readonly DeltaBinder _binder;
    private readonly InferenceSession[] _sessions;

    private ReloadBackend(
        BackboneOptions options,
        OnnxCheckpoint checkpoint,
        BackboneTensor[] tensors,
        SessionOptions sessionOptions,
        InferenceSession[] sessions,
        EncoderPipeline pipeline)
        : base(options.Name ?? options.ModelPath, pipeline, sessions.Length)
    {
        _modelPath = options.ModelPath;
        _checkpoint = checkpoint;
        _sessionOptions = sessionOptions;
        _binder = new DeltaBinder(BackboneWeights.ByName(tensors), pipeline.HiddenSize, pipeline.HasPoolerOutput, BaseModel);
        long bytes = 0;
        foreach (var tensor in tensors)
        {
            bytes += (long)tensor.ElementCount * sizeof(float);
        }

        SlotBytes = bytes;
        _sessions = sessions;
        for (var i = 0; i < sessions.Length; i++)
        {
            ReplaceBinding(i, sessions[i].CreateIoBinding());
        }
    }

    /// <summary>The float weights one slot's session holds as initializers.</summary>
    public override long SlotBytes { get; }

    public static ReloadBackend Load(BackboneOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Slots, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchSize, 1);

        // The checkpoint stays open: every switch reads the base weights from it again, as a naive server would.
        var checkpoint = OnnxCheckpoint.Open(options.ModelPath);
        SessionOptions? sessionOptions = null;
        var sessions = new List<InferenceSession>();
        try
        {
            var (tensors, pristine) = BackboneWeights.Read(checkpoint);

            // Only the fingerprints are needed: the sessions hold the weights.
            pristine.Dispose();
            sessionOptions = BackboneWeights.CreateSessionOptions(options);
            long slotBytes = 0;
            foreach (var tensor in tensors)
            {
                slotBytes += (long)tensor.ElementCount * sizeof(float);
            }

            for (var i = 0; i < options.SlotCountFor(slotBytes); i++)
            {
                sessions.Add(new InferenceSession(options.ModelPath, sessionOptions));
            }

            var pipeline = EncoderPipeline.Create(options, sessions[0], [], EncoderPipeline.PositionRows(checkpoint));
            return new ReloadBackend(options, checkpoint, tensors, sessionOptions, [.. sessions], pipeline);
        }
        catch
        {
            foreach (var session in sessions)
            {
                session.Dispose();
            }

            sessionOptions?.Dispose();
            checkpoint.Dispose();
            throw;
        }
    }

    protected override ReloadTask BindCore(KenDelta delta)
    {
        // Keeps the canonical tensors (what a reload reconstructs from) instead of the physical patches.
        var bound = _binder.Bind(delta);
        return new ReloadTask(bound.Spec, delta.PatchedTensors, bound.HeadBytes, SlotBytes);
    }

    protected override SwapStats SwapCore(SlotLease lease, ReloadTask? old, ReloadTask? task)
    {
        var slot = lease.Index;
        var start = Stopwatch.GetTimestamp();

        // Built before the old session goes: a failed build leaves the slot serving its previous task.
        var session = task is null ? new InferenceSession(_modelPath, _sessionOptions) : BuildSession(task);
        var built = Stopwatch.GetTimestamp();
        ReplaceBinding(slot, session.CreateIoBinding());
        _sessions[slot].Dispose();
        _sessions[slot] = session;
        lease.Hold(task);
        return new SwapStats(Stopwatch.GetElapsedTime(built), Stopwatch.GetElapsedTime(start, built), 0, task?.ValueCount ?? 0);
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
            foreach (var session in _sessions)
            {
                session.Dispose();
            }

            Pipeline.Dispose();
            _sessionOptions.Dispose();
            _checkpoint.Dispose();
        }
    }

    private InferenceSession BuildSession(ReloadTask task)
    {
        byte[] model;
        lock (_checkpointGate)
        {
            var weights = new Dictionary<string, float[]>(task.Patched.Count, StringComparer.Ordinal);
            foreach (var patched in task.Patched)
            {
                var values = new float[patched.ElementCount];
                _checkpoint.ReadFloat32(patched.Name, values);
                patched.ApplyTo(values);
                weights[patched.Name] = values;
            }

            model = OnnxModelRewriter.WithInitializers(_checkpoint, weights);
        }

        return new InferenceSession(model, _sessionOptions);
    }

    protected override InferenceSession SessionOf(int slot) => _sessions[slot];
}
