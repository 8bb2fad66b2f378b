using Ken.Runtime.Patching;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Ken.Runtime.Backbone;

/// <summary>
/// One <see cref="WeightSet"/> wrapped as ONNX Runtime values, one per weight input. The values point
/// at the set's native buffers (no copy), so ONNX Runtime reads whatever the buffers hold at run time.
/// </summary>
internal sealed class WeightBinding : IDisposable
{
    private readonly IReadOnlyList<BackboneTensor> _tensors;
    private readonly OrtValue[] _values;
    private readonly bool _ownsWeights;

    public WeightBinding(IReadOnlyList<BackboneTensor> tensors, WeightSet weights, bool ownsWeights)
    {
        _tensors = tensors;
        Weights = weights;
        _ownsWeights = ownsWeights;
        _values = new OrtValue[tensors.Count];
        for (var i = 0; i < tensors.Count; i++)
        {
            var tensor = tensors[i];
            long[] shape = [.. tensor.Mapping.OnnxShape];
            _values[i] = OrtValue.CreateTensorValueWithData(
                OrtMemoryInfo.DefaultInstance, TensorElementType.Float, shape, weights.Address(i), (long)tensor.ElementCount * sizeof(float));
        }
    }

    public WeightSet Weights { get; }

    /// <summary>Makes <paramref name="binding"/> read its weight inputs from this set.</summary>
    public void BindTo(OrtIoBinding binding)
    {
        for (var i = 0; i < _values.Length; i++)
        {
            binding.BindInput(_tensors[i].Mapping.OnnxName, _values[i]);
        }
    }

    public void Dispose()
    {
        foreach (var value in _values)
        {
            value.Dispose();
        }

        if (_ownsWeights)
        {
            Weights.Dispose();
        }
    }
}
