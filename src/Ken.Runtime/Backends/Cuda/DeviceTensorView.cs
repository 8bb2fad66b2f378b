namespace Ken.Runtime.Backends.Cuda;

/// <summary>
/// How one backbone weight appears to ONNX Runtime on the device: its graph input, shape (the graph's
/// physical layout), device address and byte length.
/// </summary>
internal sealed record DeviceTensorView(string InputName, long[] Shape, nint Address, long Bytes)
{
    /// <summary>
    /// The views of every tensor of a slot; throws when a slot buffer's element count differs from the
    /// graph's shape (the slot was made for another backbone).
    /// </summary>
    public static DeviceTensorView[] Describe(IReadOnlyList<Backbone.BackboneTensor> tensors, Func<int, ulong> address, Func<int, int> elementCount)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var views = new DeviceTensorView[tensors.Count];
        for (var i = 0; i < views.Length; i++)
        {
            var tensor = tensors[i];
            long[] shape = [.. tensor.Mapping.OnnxShape];
            long elements = 1;
            foreach (var dimension in shape)
            {
                elements *= dimension;
            }

            if (elements != elementCount(i))
            {
                throw new InvalidOperationException(
                    $"weight {tensor.Mapping.OnnxName} has {elements} elements in the graph but its device buffer holds {elementCount(i)}");
            }

            views[i] = new DeviceTensorView(tensor.Mapping.OnnxName, shape, (nint)address(i), elements * sizeof(float));
        }

        return views;
    }
}
