using Ken.Server.Patching;
using Ken.Server.Tokenization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Ken.Server.Runtime;

/// <summary>
/// One slot: a full set of weight buffers, bound once to its own <see cref="OrtIoBinding"/>, plus the
/// per-run scratch (tokens, outputs) that only the slot's current owner touches.
/// </summary>
internal sealed class BackboneSlot : IDisposable
{
    private readonly OrtValue[] _weightValues;
    private int _busy;

    public BackboneSlot(InferenceSession session, IReadOnlyList<BackboneTensor> tensors, WeightSet pristine, TokenizedBatch batch, int hiddenCapacity, int poolerCapacity)
    {
        Weights = new WeightSet(CountsOf(tensors));
        Weights.CopyFrom(pristine);
        Binding = session.CreateIoBinding();
        _weightValues = new OrtValue[tensors.Count];
        for (var i = 0; i < tensors.Count; i++)
        {
            var tensor = tensors[i];
            long[] shape = [.. tensor.Mapping.OnnxShape];

            // The OrtValue wraps the native buffer itself: ONNX Runtime reads the slot's weights on every
            // run, so patching the buffer in place is all a swap needs.
            _weightValues[i] = OrtValue.CreateTensorValueWithData(
                OrtMemoryInfo.DefaultInstance, TensorElementType.Float, shape, Weights.Address(i), (long)tensor.ElementCount * sizeof(float));
            Binding.BindInput(tensor.Mapping.OnnxName, _weightValues[i]);
        }

        Batch = batch;
        Hidden = new float[hiddenCapacity];
        Pooled = poolerCapacity > 0 ? new float[poolerCapacity] : null;
    }

    public WeightSet Weights { get; }

    public OrtIoBinding Binding { get; }

    public TokenizedBatch Batch { get; }

    /// <summary>last_hidden_state of the latest run, <c>[batch, sequence, hidden]</c> at the front.</summary>
    public float[] Hidden { get; }

    /// <summary>The graph's pooler output of the latest run, when the graph has one.</summary>
    public float[]? Pooled { get; }

    public BoundTask? Task { get; set; }

    /// <summary>Marks the slot busy (running or being patched); false when it already was.</summary>
    public bool TryEnter() => Interlocked.CompareExchange(ref _busy, 1, 0) == 0;

    public void Exit() => Volatile.Write(ref _busy, 0);

    public void Dispose()
    {
        Binding.Dispose();
        foreach (var value in _weightValues)
        {
            value.Dispose();
        }

        Weights.Dispose();
    }

    private static long[] CountsOf(IReadOnlyList<BackboneTensor> tensors)
    {
        var counts = new long[tensors.Count];
        for (var i = 0; i < counts.Length; i++)
        {
            counts[i] = tensors[i].ElementCount;
        }

        return counts;
    }
}
