using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Ken.Pruning;
using Ken.Pruning.Checkpoints;
using Ken.Pruning.Checkpoints.Onnx;
using Ken.Pruning.Deltas;
using Ken.Server.Patching;
using Ken.Server.Tokenization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;

namespace Ken.Server.Runtime;

/// <summary>
/// The default backend: one ONNX Runtime session over a BERT-family encoder whose weights are graph
/// inputs, a pristine copy of those weights, and <see cref="SlotCount"/> slots that each bind their own
/// weight buffers once. A swap patches a slot's buffers in place; a run binds only tokens and outputs.
/// </summary>
public sealed class PatchingBackend : IInferenceBackend
{
    private const string InputIdsName = "input_ids";
    private const string AttentionMaskName = "attention_mask";
    private const string TokenTypeIdsName = "token_type_ids";
    private const string LastHiddenStateName = "last_hidden_state";
    private const string PositionEmbeddingsName = "embeddings.position_embeddings.weight";
    private const int DefaultMaxSequenceLength = 512;

    private readonly BackboneTensor[] _tensors;
    private readonly Dictionary<string, BackboneTensor> _tensorsByName;
    private readonly WeightSet _pristine;
    private readonly SessionOptions _sessionOptions;
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly BackboneSlot[] _slots;
    private readonly BertTextTokenizer _tokenizer;
    private readonly IWeightPatcher _patcher;
    private readonly DeltaBinder _binder;
    private readonly bool _hasTokenTypes;
    private readonly string? _poolerOutputName;
    private bool _disposed;

    private PatchingBackend(
        BackboneOptions options,
        BackboneTensor[] tensors,
        WeightSet pristine,
        SessionOptions sessionOptions,
        InferenceSession session,
        BertTextTokenizer tokenizer,
        int hiddenSize,
        bool hasTokenTypes,
        string? poolerOutputName)
    {
        BaseModel = options.Name ?? options.ModelPath;
        _tensors = tensors;
        _tensorsByName = new Dictionary<string, BackboneTensor>(tensors.Length, StringComparer.Ordinal);
        foreach (var tensor in tensors)
        {
            _tensorsByName[tensor.Name] = tensor;
        }

        _pristine = pristine;
        _sessionOptions = sessionOptions;
        _session = session;
        _tokenizer = tokenizer;
        HiddenSize = hiddenSize;
        _hasTokenTypes = hasTokenTypes;
        _poolerOutputName = poolerOutputName;
        _patcher = options.Patcher ?? new CpuWeightPatcher();
        _binder = new DeltaBinder(_tensorsByName, hiddenSize, poolerOutputName is not null, BaseModel, this);

        var maxBatch = tokenizer.MaxBatchSize;
        var hiddenCapacity = checked(maxBatch * tokenizer.MaxSequenceLength * hiddenSize);
        var poolerCapacity = poolerOutputName is null ? 0 : maxBatch * hiddenSize;
        _slots = new BackboneSlot[options.Slots];
        for (var i = 0; i < _slots.Length; i++)
        {
            _slots[i] = new BackboneSlot(session, tensors, pristine, tokenizer.CreateBatch(), hiddenCapacity, poolerCapacity);
        }
    }

    public string BaseModel { get; }

    public int SlotCount => _slots.Length;

    public int MaxBatchSize => _tokenizer.MaxBatchSize;

    public int MaxSequenceLength => _tokenizer.MaxSequenceLength;

    public int HiddenSize { get; }

    /// <summary>True when the graph computes BERT's pooler itself (a <c>[batch, hidden]</c> output).</summary>
    public bool HasPoolerOutput => _poolerOutputName is not null;

    public long SlotBytes => _pristine.TotalBytes;

    /// <summary>Number of weights bound as graph inputs (every float32 initializer).</summary>
    public int WeightCount => _tensors.Length;

    internal WeightSet Pristine => _pristine;

    internal IReadOnlyList<BackboneTensor> Tensors => _tensors;

    /// <summary>Loads the backbone: rewrites the graph, reads the weights once and binds every slot.</summary>
    public static PatchingBackend Load(BackboneOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Slots, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchSize, 1);

        using var checkpoint = OnnxCheckpoint.Open(options.ModelPath);
        var (tensors, pristine) = ReadWeights(checkpoint);
        SessionOptions? sessionOptions = null;
        InferenceSession? session = null;
        try
        {
            var onnxNames = new string[tensors.Length];
            for (var i = 0; i < tensors.Length; i++)
            {
                onnxNames[i] = tensors[i].Mapping.OnnxName;
            }

            var model = OnnxModelRewriter.PromoteInitializersToInputs(checkpoint, onnxNames);
            sessionOptions = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
            if (options.IntraOpThreads is { } threads)
            {
                sessionOptions.IntraOpNumThreads = threads;
            }

            session = new InferenceSession(model, sessionOptions);
            var (hasTokenTypes, hiddenSize, poolerName) = InspectGraph(session, onnxNames, options.ModelPath);
            var maxSequence = options.MaxSequenceLength ?? DefaultSequenceLength(checkpoint);
            var tokenizer = BertTextTokenizer.Load(options.VocabPath, maxSequence, options.MaxBatchSize);
            return new PatchingBackend(options, tensors, pristine, sessionOptions, session, tokenizer, hiddenSize, hasTokenTypes, poolerName);
        }
        catch
        {
            session?.Dispose();
            sessionOptions?.Dispose();
            pristine.Dispose();
            throw;
        }
    }

    public BoundTask Bind(KenDelta delta)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _binder.Bind(delta);
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

            var start = Stopwatch.GetTimestamp();
            if (old is not null && prepared is not null)
            {
                // A task switch: restore and apply fused, one pass over each touched buffer.
                s.Task = null;
                (long Applied, long Restored) moved;
                try
                {
                    moved = _patcher.Replace(s.Weights, _pristine, (PreparedTask)old.State, prepared);
                }
                catch
                {
                    // A half-moved slot serves neither model; put the base back before reporting.
                    _patcher.Restore(s.Weights, _pristine, (PreparedTask)old.State);
                    _patcher.Restore(s.Weights, _pristine, prepared);
                    throw;
                }

                s.Task = task;
                return new SwapStats(TimeSpan.Zero, Stopwatch.GetElapsedTime(start), moved.Restored, moved.Applied);
            }

            long restored = 0;
            if (old is not null)
            {
                s.Task = null;
                restored = _patcher.Restore(s.Weights, _pristine, (PreparedTask)old.State);
            }

            var restoredAt = Stopwatch.GetTimestamp();
            long applied = 0;
            if (prepared is not null)
            {
                try
                {
                    applied = _patcher.Apply(s.Weights, prepared);
                }
                catch
                {
                    // A half-applied task would serve neither model; put the base back before reporting.
                    _patcher.Restore(s.Weights, _pristine, prepared);
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
            if (!ReferenceEquals(s.Task, task))
            {
                throw new InvalidOperationException(
                    $"slot {slot} holds {s.Task?.Name ?? "the base"}, not task '{task.Name}'; swap the task into the slot before running it");
            }

            var batch = Forward(s, texts);
            var batchSize = batch.BatchSize;
            var pooled = new float[batchSize * HiddenSize];
            var metadata = task.Metadata;
            if (prepared.UsesGraphPooler)
            {
                s.Pooled.AsSpan(0, pooled.Length).CopyTo(pooled);
                if (metadata.Normalize)
                {
                    Pooling.NormalizeL2(pooled, batchSize, HiddenSize);
                }
            }
            else
            {
                Pooling.Pool(
                    metadata.Pooling, s.Hidden, batch.AttentionMask.Span, batchSize, batch.SequenceLength, HiddenSize, pooled, prepared.Pooler, metadata.Normalize);
            }

            var truncated = batch.Truncated.ToArray();
            var tokens = batch.TotalTokens;
            if (prepared.Classifier is { } classifier)
            {
                return new TaskOutput(null, classifier.Classify(pooled, batchSize), truncated, tokens);
            }

            var embeddings = new float[batchSize][];
            for (var b = 0; b < batchSize; b++)
            {
                embeddings[b] = pooled.AsSpan(b * HiddenSize, HiddenSize).ToArray();
            }

            return new TaskOutput(embeddings, null, truncated, tokens);
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
        foreach (var slot in _slots)
        {
            slot.Dispose();
        }

        _session.Dispose();
        _sessionOptions.Dispose();
        _runOptions.Dispose();
        _pristine.Dispose();
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
            var batch = Forward(s, texts);
            var hidden = s.Hidden.AsSpan(0, batch.BatchSize * batch.SequenceLength * HiddenSize).ToArray();
            var pooled = s.Pooled?.AsSpan(0, batch.BatchSize * HiddenSize).ToArray();
            return (hidden, pooled, batch.BatchSize, batch.SequenceLength);
        }
        finally
        {
            s.Exit();
        }
    }

    /// <summary>The weight buffers of <paramref name="slot"/> (tests perturb them to prove the graph reads them).</summary>
    internal WeightSet SlotWeights(int slot) => SlotAt(slot).Weights;

    internal BackboneSlot SlotAt(int slot)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if ((uint)slot >= (uint)_slots.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(slot), slot, $"the backbone has slots 0..{_slots.Length - 1}");
        }

        return _slots[slot];
    }

    private BackboneSlot Enter(int slot, string what)
    {
        var s = SlotAt(slot);
        if (!s.TryEnter())
        {
            // The scheduler owns each slot exclusively; getting here means it patched or ran a busy slot,
            // which would corrupt a run in flight, so fail loudly instead.
            throw new InvalidOperationException($"slot {slot} is busy (running or being swapped) and cannot be {what} now");
        }

        return s;
    }

    private TokenizedBatch Forward(BackboneSlot s, IReadOnlyList<string> texts)
    {
        var batch = s.Batch;
        _tokenizer.Tokenize(texts, batch);
        var batchSize = batch.BatchSize;
        var sequence = batch.SequenceLength;
        long[] tokenShape = [batchSize, sequence];
        var info = OrtMemoryInfo.DefaultInstance;
        using var ids = OrtValue.CreateTensorValueFromMemory(info, MemoryMarshal.AsMemory(batch.InputIds), tokenShape);
        using var mask = OrtValue.CreateTensorValueFromMemory(info, MemoryMarshal.AsMemory(batch.AttentionMask), tokenShape);
        using var types = _hasTokenTypes ? OrtValue.CreateTensorValueFromMemory(info, MemoryMarshal.AsMemory(batch.TokenTypeIds), tokenShape) : null;
        using var hidden = OrtValue.CreateTensorValueFromMemory(
            info, s.Hidden.AsMemory(0, batchSize * sequence * HiddenSize), [batchSize, sequence, HiddenSize]);
        using var pooled = _poolerOutputName is null
            ? null
            : OrtValue.CreateTensorValueFromMemory(info, s.Pooled.AsMemory(0, batchSize * HiddenSize), [batchSize, HiddenSize]);

        // Binding a name again replaces the previous run's value; the weights bound at load stay.
        var binding = s.Binding;
        binding.BindInput(InputIdsName, ids);
        binding.BindInput(AttentionMaskName, mask);
        if (types is not null)
        {
            binding.BindInput(TokenTypeIdsName, types);
        }

        binding.BindOutput(LastHiddenStateName, hidden);
        if (pooled is not null)
        {
            binding.BindOutput(_poolerOutputName!, pooled);
        }

        _session.RunWithBinding(_runOptions, binding);
        return batch;
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

    private static (BackboneTensor[] Tensors, WeightSet Pristine) ReadWeights(OnnxCheckpoint checkpoint)
    {
        var mappings = new List<OnnxTensorMapping>();
        foreach (var mapping in checkpoint.Mappings)
        {
            // Half-precision weights would need half-precision buffers and patches; they stay initializers.
            if (mapping.Info.DType == TensorDType.F32)
            {
                mappings.Add(mapping);
            }
        }

        var counts = new long[mappings.Count];
        for (var i = 0; i < counts.Length; i++)
        {
            counts[i] = mappings[i].Info.ElementCount;
        }

        var pristine = new WeightSet(counts);
        try
        {
            var tensors = new BackboneTensor[mappings.Count];
            float[] canonical = [];
            for (var i = 0; i < tensors.Length; i++)
            {
                var mapping = mappings[i];
                var buffer = pristine.Tensor(i);
                checkpoint.ReadFloat32OnnxLayout(mapping.CanonicalName, buffer);
                ulong fingerprint;
                if (mapping.Transposed)
                {
                    // Fingerprints are defined on the canonical layout, which a delta was built against.
                    if (canonical.Length < buffer.Length)
                    {
                        canonical = new float[buffer.Length];
                    }

                    var target = canonical.AsSpan(0, buffer.Length);
                    MatrixTranspose.Transpose(buffer, target, (int)mapping.OnnxShape[0], (int)mapping.OnnxShape[1]);
                    fingerprint = TensorFingerprint.Compute(target);
                }
                else
                {
                    fingerprint = TensorFingerprint.Compute(buffer);
                }

                tensors[i] = new BackboneTensor(i, mapping, fingerprint);
            }

            return (tensors, pristine);
        }
        catch
        {
            pristine.Dispose();
            throw;
        }
    }

    private static (bool HasTokenTypes, int HiddenSize, string? PoolerOutput) InspectGraph(InferenceSession session, string[] weightNames, string modelPath)
    {
        var weights = new HashSet<string>(weightNames, StringComparer.Ordinal);
        var inputs = session.InputMetadata;
        foreach (var required in (string[])[InputIdsName, AttentionMaskName])
        {
            if (!inputs.ContainsKey(required))
            {
                throw new KenException($"{modelPath} has no '{required}' input; Ken serves BERT-family encoders exported with input_ids and attention_mask.");
            }
        }

        foreach (var name in inputs.Keys)
        {
            if (name is not (InputIdsName or AttentionMaskName or TokenTypeIdsName) && !weights.Contains(name))
            {
                throw new KenException($"{modelPath} has an input '{name}' Ken does not know how to fill; export the encoder with input_ids, attention_mask and token_type_ids only.");
            }
        }

        var outputs = session.OutputMetadata;
        if (!outputs.TryGetValue(LastHiddenStateName, out var last) || last.Dimensions.Length != 3 || last.Dimensions[2] <= 0)
        {
            throw new KenException($"{modelPath} has no '{LastHiddenStateName}' output of shape [batch, sequence, hidden]; export the encoder with it.");
        }

        var hiddenSize = last.Dimensions[2];
        string? pooler = null;
        foreach (var (name, metadata) in outputs)
        {
            if (name != LastHiddenStateName && metadata.ElementDataType == TensorElementType.Float
                && metadata.Dimensions.Length == 2 && metadata.Dimensions[1] == hiddenSize)
            {
                pooler = name;
                break;
            }
        }

        return (inputs.ContainsKey(TokenTypeIdsName), hiddenSize, pooler);
    }

    private static int DefaultSequenceLength(OnnxCheckpoint checkpoint) =>
        checkpoint.TryGetInfo(PositionEmbeddingsName, out var info) && info.Shape.Count == 2
            ? (int)Math.Min(DefaultMaxSequenceLength, info.Shape[0])
            : DefaultMaxSequenceLength;
}
