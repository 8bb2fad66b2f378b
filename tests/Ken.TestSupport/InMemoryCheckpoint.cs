using Ken.Format;
using Ken.Format.Checkpoints;

namespace Ken.TestSupport;

/// <summary>A checkpoint held in memory, for tests of code that consumes <see cref="ICheckpoint"/>.</summary>
public sealed class InMemoryCheckpoint(string source, string? configJson = null) : ICheckpoint
{
    private readonly Dictionary<string, (TensorInfo Info, float[] Data)> tensors = new(StringComparer.Ordinal);
    private readonly List<TensorInfo> order = [];

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
