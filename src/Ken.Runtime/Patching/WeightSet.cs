using System.Runtime.InteropServices;

namespace Ken.Runtime.Patching;

/// <summary>
/// One full set of backbone weight buffers in native memory, in the ONNX graph's physical layout:
/// a slot's weights or the pristine copy. One block holds every tensor, each starting on a
/// 64-byte boundary, so ONNX Runtime's kernels see aligned data and the GC never moves or scans it.
/// </summary>
public sealed unsafe class WeightSet : IDisposable
{
    private const nuint Alignment = 64;
    private const int FloatsPerAlignment = (int)Alignment / sizeof(float);

    private readonly long[] _offsets;
    private readonly int[] _lengths;
    private float* _block;

    /// <param name="elementCounts">Element count of every tensor, in tensor index order.</param>
    public WeightSet(IReadOnlyList<long> elementCounts)
    {
        ArgumentNullException.ThrowIfNull(elementCounts);
        _offsets = new long[elementCounts.Count];
        _lengths = new int[elementCounts.Count];
        long total = 0;
        for (var i = 0; i < elementCounts.Count; i++)
        {
            // Spans index with int; a single tensor of 2^31 floats (8 GiB) is far beyond any encoder Ken serves.
            _lengths[i] = checked((int)elementCounts[i]);
            _offsets[i] = total;
            total += (elementCounts[i] + FloatsPerAlignment - 1) / FloatsPerAlignment * FloatsPerAlignment;
        }

        TotalBytes = total * sizeof(float);
        _block = (float*)NativeMemory.AlignedAlloc((nuint)Math.Max(TotalBytes, sizeof(float)), Alignment);
        new Span<byte>(_block, 0).Clear();
        GC.AddMemoryPressure(Math.Max(TotalBytes, 1));
    }

    /// <summary>Number of tensors.</summary>
    public int Count => _lengths.Length;

    /// <summary>Bytes of the whole block, alignment padding included.</summary>
    public long TotalBytes { get; }

    /// <summary>The buffer of tensor <paramref name="index"/>.</summary>
    public Span<float> Tensor(int index)
    {
        ObjectDisposedException.ThrowIf(_block is null, this);
        return new Span<float>(_block + _offsets[index], _lengths[index]);
    }

    /// <summary>The address of tensor <paramref name="index"/>, for binding it to ONNX Runtime.</summary>
    public nint Address(int index)
    {
        ObjectDisposedException.ThrowIf(_block is null, this);
        return (nint)(_block + _offsets[index]);
    }

    /// <summary>Element count of tensor <paramref name="index"/>.</summary>
    public int Length(int index) => _lengths[index];

    /// <summary>Copies every tensor of <paramref name="source"/> (same layout) into this set.</summary>
    public void CopyFrom(WeightSet source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.TotalBytes != TotalBytes || source.Count != Count)
        {
            throw new ArgumentException("the weight sets have different layouts", nameof(source));
        }

        for (var i = 0; i < Count; i++)
        {
            source.Tensor(i).CopyTo(Tensor(i));
        }
    }

    public void Dispose()
    {
        if (_block is null)
        {
            return;
        }

        NativeMemory.AlignedFree(_block);
        _block = null;
        GC.RemoveMemoryPressure(Math.Max(TotalBytes, 1));
    }
}
