using System.Globalization;
using System.Runtime.InteropServices;
using Ken.Format;
using Ken.Runtime.Heads;
using Ken.Runtime.Tasks;
using Ken.Runtime.Tokenization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Ken.Runtime.Backbone;

/// <summary>
/// What every backend does around the encoder, whatever holds its weights: pad tokenized texts into a
/// slot's scratch, run a session through an <see cref="OrtIoBinding"/>, then pool, normalize and apply the
/// task's head. Swap modes differ only in where the weights live, so they share this stage exactly.
/// </summary>
internal sealed class EncoderPipeline : IDisposable
{
    private const string InputIdsName = "input_ids";
    private const string AttentionMaskName = "attention_mask";
    private const string TokenTypeIdsName = "token_type_ids";
    private const string LastHiddenStateName = "last_hidden_state";
    private const string PositionEmbeddingsName = "embeddings.position_embeddings.weight";
    private const int DefaultMaxSequenceLength = 512;

    private readonly BertTextTokenizer _tokenizer;
    private readonly bool _hasTokenTypes;
    private readonly string? _poolerOutputName;
    private readonly RunOptions _runOptions = new();

    private EncoderPipeline(BertTextTokenizer tokenizer, int hiddenSize, bool hasTokenTypes, string? poolerOutputName)
    {
        _tokenizer = tokenizer;
        HiddenSize = hiddenSize;
        _hasTokenTypes = hasTokenTypes;
        _poolerOutputName = poolerOutputName;
    }

    public int HiddenSize { get; }

    /// <summary>The backbone's tokenizer, shared by every slot (it is immutable).</summary>
    public BertTextTokenizer Tokenizer => _tokenizer;

    public int MaxBatchSize => _tokenizer.MaxBatchSize;

    public int MaxSequenceLength => _tokenizer.MaxSequenceLength;

    /// <summary>True when the graph computes BERT's pooler itself (a <c>[batch, hidden]</c> output).</summary>
    public bool HasPoolerOutput => _poolerOutputName is not null;

    /// <summary>
    /// Checks the graph's inputs and outputs (<paramref name="weightNames"/> are inputs the backend fills
    /// with weights) and loads the tokenizer.
    /// </summary>
    public static EncoderPipeline Create(BackboneOptions options, InferenceSession session, IReadOnlyCollection<string> weightNames, long? positionRows)
    {
        var modelPath = options.ModelPath;
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

        var maxSequence = options.MaxSequenceLength
            ?? (positionRows is { } rows ? (int)Math.Min(DefaultMaxSequenceLength, rows) : DefaultMaxSequenceLength);
        var tokenizer = BertTextTokenizer.Load(options.VocabPath, maxSequence, options.MaxBatchSize);
        return new EncoderPipeline(tokenizer, hiddenSize, inputs.ContainsKey(TokenTypeIdsName), pooler);
    }

    /// <summary>Rows of the position embeddings, which bound the sequence length; null when the checkpoint has none.</summary>
    public static long? PositionRows(Ken.Format.Checkpoints.Onnx.OnnxCheckpoint checkpoint) =>
        checkpoint.TryGetInfo(PositionEmbeddingsName, out var info) && info.Shape.Count == 2 ? info.Shape[0] : null;

    /// <summary>A slot's per-run scratch, sized for the largest batch.</summary>
    public SlotScratch CreateScratch()
    {
        var hiddenCapacity = checked(MaxBatchSize * MaxSequenceLength * HiddenSize);
        var poolerCapacity = HasPoolerOutput ? MaxBatchSize * HiddenSize : 0;
        return new SlotScratch(_tokenizer.CreateBatch(), hiddenCapacity, poolerCapacity);
    }

    /// <summary>
    /// Pads <paramref name="texts"/> into the slot's scratch and runs <paramref name="session"/> through
    /// <paramref name="binding"/>; whatever weights the binding (or the session) holds are used. Throws
    /// <see cref="KenException"/> for an empty batch or one over <see cref="MaxBatchSize"/>.
    /// </summary>
    public TokenizedBatch Forward(InferenceSession session, OrtIoBinding binding, SlotScratch slot, IReadOnlyList<TokenizedText> texts)
    {
        if (texts.Count == 0)
        {
            throw new KenException("the batch has no texts; send at least one");
        }

        if (texts.Count > MaxBatchSize)
        {
            throw new KenException(string.Create(CultureInfo.InvariantCulture,
                $"the batch has {texts.Count} texts but at most {MaxBatchSize} run at once; split it into smaller batches"));
        }

        var batch = slot.Batch;
        batch.Load(texts, _tokenizer.PadId);
        var batchSize = batch.BatchSize;
        var sequence = batch.SequenceLength;
        long[] tokenShape = [batchSize, sequence];
        var info = OrtMemoryInfo.DefaultInstance;
        using var ids = OrtValue.CreateTensorValueFromMemory(info, MemoryMarshal.AsMemory(batch.InputIds), tokenShape);
        using var mask = OrtValue.CreateTensorValueFromMemory(info, MemoryMarshal.AsMemory(batch.AttentionMask), tokenShape);
        using var types = _hasTokenTypes ? OrtValue.CreateTensorValueFromMemory(info, MemoryMarshal.AsMemory(batch.TokenTypeIds), tokenShape) : null;
        using var hidden = OrtValue.CreateTensorValueFromMemory(
            info, slot.Hidden.AsMemory(0, batchSize * sequence * HiddenSize), [batchSize, sequence, HiddenSize]);
        using var pooled = _poolerOutputName is null
            ? null
            : OrtValue.CreateTensorValueFromMemory(info, slot.Pooled.AsMemory(0, batchSize * HiddenSize), [batchSize, HiddenSize]);

        // Binding a name again replaces the previous run's value; weights bound earlier stay.
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

        session.RunWithBinding(_runOptions, binding);

        // On a GPU the outputs are copied on the compute stream; the scratch must hold them before pooling reads
        // it, and the slot must not be patched before the run is done. On the CPU this returns at once.
        binding.SynchronizeBoundOutputs();
        return batch;
    }

    /// <summary>Pools the slot's latest run for <paramref name="task"/>, normalizes, and applies its head.</summary>
    public TaskOutput Output(TaskSpec task, TokenizedBatch batch, SlotScratch slot)
    {
        var batchSize = batch.BatchSize;
        var pooled = new float[batchSize * HiddenSize];
        var heads = task.Heads;
        if (heads.UsesGraphPooler)
        {
            slot.Pooled.AsSpan(0, pooled.Length).CopyTo(pooled);
            if (task.Normalize)
            {
                Pooling.NormalizeL2(pooled, batchSize, HiddenSize);
            }
        }
        else
        {
            Pooling.Pool(
                task.Pooling, slot.Hidden, batch.AttentionMask.Span, batchSize, batch.SequenceLength, HiddenSize, pooled, heads.Pooler, task.Normalize);
        }

        var truncated = batch.Truncated.ToArray();
        var tokens = batch.TotalTokens;
        if (heads.Classifier is { } classifier)
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

    /// <summary>Runs a short text on <paramref name="slot"/> and throws unless the encoder's outputs are finite.</summary>
    public void Check(InferenceSession session, OrtIoBinding binding, SlotScratch slot, int index, string model)
    {
        var batch = Forward(session, binding, slot, _tokenizer.Tokenize(["Ken checks its backbone."]));
        var hidden = slot.Hidden.AsSpan(0, batch.BatchSize * batch.SequenceLength * HiddenSize);
        if (!System.Numerics.Tensors.TensorPrimitives.IsFiniteAll<float>(hidden)
            || (slot.Pooled is { } pooled && !System.Numerics.Tensors.TensorPrimitives.IsFiniteAll<float>(pooled.AsSpan(0, batch.BatchSize * HiddenSize))))
        {
            throw new KenException($"backbone {model} gives NaN or infinity on slot {index} for a plain text; check that --model is a valid float32 encoder export.");
        }
    }

    /// <summary>Copies of the slot's latest <c>last_hidden_state</c> and pooler output (tests and benchmarks).</summary>
    public (float[] Hidden, float[]? Pooled, int BatchSize, int SequenceLength) Raw(TokenizedBatch batch, SlotScratch slot)
    {
        var hidden = slot.Hidden.AsSpan(0, batch.BatchSize * batch.SequenceLength * HiddenSize).ToArray();
        var pooled = slot.Pooled?.AsSpan(0, batch.BatchSize * HiddenSize).ToArray();
        return (hidden, pooled, batch.BatchSize, batch.SequenceLength);
    }

    public void Dispose() => _runOptions.Dispose();
}
