using Ken.Cuda.Patching;
using Ken.Runtime.Backbone;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Ken.Runtime.Backends.Cuda;

/// <summary>
/// A device slot's weight buffers wrapped as ONNX Runtime values over their device addresses (no copy), one
/// per weight input. The addresses never change, so a slot is bound once and switches rewrite the contents.
/// </summary>
internal sealed class DeviceWeightBinding : IDisposable
{
    private readonly IReadOnlyList<BackboneTensor> _tensors;
    private readonly OrtValue[] _values;

    public DeviceWeightBinding(IReadOnlyList<BackboneTensor> tensors, DeviceSlot slot, OrtMemoryInfo deviceMemory)
    {
        _tensors = tensors;
        var views = DeviceTensorView.Describe(tensors, slot.GetWeightAddress, slot.GetElementCount);
        _values = new OrtValue[views.Length];
        var made = 0;
        try
        {
            for (; made < views.Length; made++)
            {
                var view = views[made];
                _values[made] = OrtValue.CreateTensorValueWithData(deviceMemory, TensorElementType.Float, view.Shape, view.Address, view.Bytes);
            }
        }
        catch
        {
            for (var i = 0; i < made; i++)
            {
                _values[i].Dispose();
            }

            throw;
        }
    }

    /// <summary>Makes <paramref name="binding"/> read its weight inputs from the slot's device buffers.</summary>
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
    }
}
