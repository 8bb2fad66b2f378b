using Ken.Format;
using Ken.Format.Checkpoints;

namespace Ken.TestSupport;

/// <summary>A checkpoint held in memory, for tests of code that consumes <see cref="ICheckpoint"/>.</summary>
public sealed class InMemoryCheckpoint(string source, string? configJson = null) : ICheckpoint, IStoredLayout
{
    private readonly Dictionary<string, (TensorInfo Info, float[] Data)> tensors = new(StringComparer.Ordinal);
    private readonly List<TensorInfo> order = [];
    private readonly HashSet<string> transposed = new(StringComparer.Ordinal);

    public string Source { get; } = source;

    public IReadOnlyList<TensorInfo> Tensors => order;

    public string? ConfigJson { get; } = configJson;

    public InMemoryCheckpoint Add(string name, long[] shape, float[] data, TensorDType dtype = TensorDType.F32)
    {
        var info = new TensorInfo(name, dtype, shape);
        tensors[name] = (info, data);
        order.Add(info);
        return this;
    }

    /// <summary>Says that <paramref name="name"/> is stored transposed where it is served (as an ONNX MatMul weight is).</summary>
    public InMemoryCheckpoint StoredTransposed(string name)
    {
        transposed.Add(name);
        return this;
    }

    public bool IsStoredTransposed(string name) => transposed.Contains(name);

    public float[] Data(string name) => tensors[name].Data;

    public bool TryGetInfo(string name, out TensorInfo info)
    {
        bool found = tensors.TryGetValue(name, out var t);
        info = t.Info!;
        return found;
    }

    public void ReadFloat32(string name, Span<float> destination)
    {
        if (!tensors.TryGetValue(name, out var t))
        {
            throw new KenException($"no tensor {name}");
        }

        t.Data.CopyTo(destination);
    }

    public void Dispose()
    {
    }
}
