using System.Globalization;
using System.Numerics.Tensors;
using Ken.Format;

namespace Ken.Runtime.Heads;

/// <summary>
/// A linear layer <c>y = W x + b</c> with <c>W</c> in PyTorch <c>[out, in]</c> layout, so each output is one
/// dot product over a contiguous weight row. Weights usually come from a task delta, so shape errors are
/// reported as user errors naming the layer.
/// </summary>
public sealed class DenseLayer
{
    private readonly float[] _weight;
    private readonly float[] _bias;

    public DenseLayer(string name, float[] weight, float[] bias, int inputSize)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(bias);
        ArgumentOutOfRangeException.ThrowIfLessThan(inputSize, 1);
        if (bias.Length == 0 || weight.Length != (long)bias.Length * inputSize)
        {
            throw new KenException(string.Create(CultureInfo.InvariantCulture,
                $"{name}: weight has {weight.Length} values and bias {bias.Length}, but a [{bias.Length}, {inputSize}] weight is needed for hidden size {inputSize}; the delta was built for another model"));
        }

        if (!TensorPrimitives.IsFiniteAll<float>(weight) || !TensorPrimitives.IsFiniteAll<float>(bias))
        {
            throw new KenException($"{name}: weight or bias holds NaN or infinity; rebuild the delta from a valid checkpoint");
        }

        Name = name;
        _weight = weight;
        _bias = bias;
        InputSize = inputSize;
    }

    public string Name { get; }

    public int InputSize { get; }

    public int OutputSize => _bias.Length;

    /// <summary>Applies the layer to <paramref name="rows"/> input vectors stored back to back.</summary>
    public void Apply(ReadOnlySpan<float> input, int rows, Span<float> output)
    {
        if (input.Length < rows * InputSize || output.Length < rows * OutputSize)
        {
            throw new ArgumentException($"{Name}: {rows} rows need {rows * InputSize} inputs and {rows * OutputSize} outputs");
        }

        for (var r = 0; r < rows; r++)
        {
            ApplyRow(input.Slice(r * InputSize, InputSize), output.Slice(r * OutputSize, OutputSize));
        }
    }

    internal void ApplyRow(ReadOnlySpan<float> x, Span<float> y)
    {
        ReadOnlySpan<float> weight = _weight;
        for (var o = 0; o < y.Length; o++)
        {
            y[o] = TensorPrimitives.Dot(weight.Slice(o * InputSize, InputSize), x) + _bias[o];
        }
    }
}
