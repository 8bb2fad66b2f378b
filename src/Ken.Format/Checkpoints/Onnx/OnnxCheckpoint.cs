using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Ken.Format.Checkpoints.Onnx.Proto;
using Microsoft.Win32.SafeHandles;

namespace Ken.Format.Checkpoints.Onnx;

/// <summary>
/// The float initializers of an ONNX model, under canonical names and in canonical layout
/// (see <see cref="Mappings"/> for how each maps back to the graph).
/// </summary>
public sealed class OnnxCheckpoint : ICheckpoint, IStoredLayout
{
    private readonly Dictionary<string, int> _indexByCanonicalName;
    private readonly OnnxInitializerData[] _data;
    private readonly OnnxByteRange?[] _rawData;

    // The files that hold tensor bytes, by absolute path: the model itself (opened once, so later
    // reads see the file that was parsed) and any external data files, opened on first use.
    private readonly Dictionary<string, SafeFileHandle> _dataFiles = new(StringComparer.Ordinal);
    private readonly Lock _dataFilesLock = new();
    private bool _disposed;

    private OnnxCheckpoint(
        string path,
        SafeFileHandle modelFile,
        ModelProto model,
        OnnxByteRange?[] rawData,
        OnnxTensorMapping[] mappings,
        OnnxInitializerData[] data,
        string? configJson)
    {
        ModelPath = path;
        _dataFiles[path] = modelFile;
        Model = model;
        _rawData = rawData;
        Mappings = mappings;
        _data = data;
        ConfigJson = configJson;
        var tensors = new TensorInfo[mappings.Length];
        _indexByCanonicalName = new Dictionary<string, int>(mappings.Length, StringComparer.Ordinal);
        for (var i = 0; i < mappings.Length; i++)
        {
            tensors[i] = mappings[i].Info;
            _indexByCanonicalName[mappings[i].CanonicalName] = i;
        }

        Tensors = tensors;
    }

    /// <summary>Absolute path of the <c>.onnx</c> file.</summary>
    public string ModelPath { get; }

    public string Source => ModelPath;

    public IReadOnlyList<TensorInfo> Tensors { get; }

    public string? ConfigJson { get; }

    /// <summary>Every float initializer, in graph order, with its canonical name and layout.</summary>
    public IReadOnlyList<OnnxTensorMapping> Mappings { get; }

    /// <summary>
    /// The parsed model without its initializers' <c>raw_data</c>, which stays in the file; use
    /// <see cref="CopyModel"/> for a copy to rewrite and serialize.
    /// </summary>
    internal ModelProto Model { get; }

    /// <summary>
    /// Parses the model at <paramref name="path"/> and checks that every float initializer's data
    /// (inline or in external files) is complete. Throws <see cref="KenException"/> when it is not.
    /// Tensor bytes are not loaded: reads take them from the file, which stays open until disposal.
    /// </summary>
    public static OnnxCheckpoint Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("ONNX tensor data is little-endian; Ken reads it only on little-endian machines.");
        }

        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            throw new KenException($"ONNX model {fullPath} does not exist; check the path.");
        }

        var modelFile = OpenModelFile(fullPath);
        try
        {
            var (model, rawData) = OnnxModelParser.Parse(modelFile, fullPath);
            return Create(fullPath, modelFile, model, rawData);
        }
        catch
        {
            modelFile.Dispose();
            throw;
        }
    }

    private static OnnxCheckpoint Create(string fullPath, SafeFileHandle modelFile, ModelProto model, OnnxByteRange?[] rawData)
    {
        if (model.Graph is null)
        {
            throw Invalid(fullPath, "it has no graph");
        }

        var folder = Path.GetDirectoryName(fullPath)!;
        var floatDims = new Dictionary<string, long[]>(StringComparer.Ordinal);
        var data = new List<OnnxInitializerData>();
        for (var index = 0; index < model.Graph.Initializer.Count; index++)
        {
            var initializer = model.Graph.Initializer[index];
            if (OnnxInitializerData.FromOnnx(initializer.DataType) is not { } dtype)
            {
                continue;
            }

            if (!floatDims.TryAdd(initializer.Name, [.. initializer.Dims]))
            {
                throw Invalid(fullPath, $"initializer '{initializer.Name}' appears twice");
            }

            data.Add(OnnxInitializerData.Create(initializer, rawData[index], dtype, fullPath, folder));
        }

        var renames = OnnxCanonicalNames.Resolve(model.Graph, floatDims);
        var mappings = new OnnxTensorMapping[data.Count];
        for (var i = 0; i < data.Count; i++)
        {
            var proto = data[i].Proto;
            long[] onnxShape = [.. proto.Dims];
            var (name, transposed) = renames.TryGetValue(proto.Name, out var rename) ? rename : (proto.Name, false);
            long[] shape = transposed ? [onnxShape[1], onnxShape[0]] : onnxShape;
            mappings[i] = new OnnxTensorMapping(name, proto.Name, transposed, new TensorInfo(name, data[i].DType, shape), onnxShape);
        }

        var configPath = Path.Combine(folder, "config.json");
        var configJson = File.Exists(configPath) ? File.ReadAllText(configPath) : null;
        return new OnnxCheckpoint(fullPath, modelFile, model, rawData, mappings, [.. data], configJson);
    }

    public bool TryGetInfo(string name, out TensorInfo info)
    {
        if (_indexByCanonicalName.TryGetValue(name, out var index))
        {
            info = Mappings[index].Info;
            return true;
        }

        info = null!;
        return false;
    }

    /// <summary>The mapping of the tensor with canonical name <paramref name="name"/>.</summary>
    public bool TryGetMapping(string name, out OnnxTensorMapping mapping)
    {
        if (_indexByCanonicalName.TryGetValue(name, out var index))
        {
            mapping = Mappings[index];
            return true;
        }

        mapping = null!;
        return false;
    }

    /// <inheritdoc />
    public bool IsStoredTransposed(string name) => TryGetMapping(name, out var mapping) && mapping.Transposed;

    public void ReadFloat32(string name, Span<float> destination)
    {
        var index = IndexOf(name, destination.Length);
        var mapping = Mappings[index];
        if (!mapping.Transposed)
        {
            ReadStored(_data[index], destination);
            return;
        }

        var rows = (int)mapping.OnnxShape[0];
        var columns = (int)mapping.OnnxShape[1];
        var buffer = ArrayPool<float>.Shared.Rent(destination.Length);
        try
        {
            var stored = buffer.AsSpan(0, destination.Length);
            ReadStored(_data[index], stored);
            MatrixTranspose.Transpose(stored, destination, rows, columns);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Reads the tensor with canonical name <paramref name="name"/> converted to float32 but in the
    /// layout the ONNX graph stores it (<see cref="OnnxTensorMapping.OnnxShape"/>).
    /// </summary>
    public void ReadFloat32OnnxLayout(string name, Span<float> destination) =>
        ReadStored(_data[IndexOf(name, destination.Length)], destination);

    /// <summary>
    /// A deep copy of <see cref="Model"/> for rewriting, whose graph initializers hold their
    /// <c>raw_data</c> again, read from the file; those <paramref name="dataDropped"/> selects get
    /// none, because the caller removes them or replaces their data.
    /// </summary>
    internal ModelProto CopyModel(Func<TensorProto, bool> dataDropped)
    {
        ArgumentNullException.ThrowIfNull(dataDropped);
        var copy = Model.Clone();
        var initializers = copy.Graph.Initializer;
        for (var i = 0; i < initializers.Count; i++)
        {
            if (_rawData[i] is { } range && !dataDropped(initializers[i]))
            {
                var bytes = new byte[range.Length];
                ReadExactly(DataFile(ModelPath), bytes, range.Offset, ModelPath);
                initializers[i].RawData = UnsafeByteOperations.UnsafeWrap(bytes);
            }
        }

        return copy;
    }

    public void Dispose()
    {
        lock (_dataFilesLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var handle in _dataFiles.Values)
            {
                handle.Dispose();
            }

            _dataFiles.Clear();
        }
    }

    internal static KenException Invalid(string path, string why) =>
        new($"{path} is not a valid ONNX model ({why}); re-export it.");

    private static SafeFileHandle OpenModelFile(string path)
    {
        try
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new KenException($"cannot read ONNX model {path} ({e.Message}); check its permissions.", e);
        }
    }

    private int IndexOf(string name, int destinationLength)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_indexByCanonicalName.TryGetValue(name, out var index))
        {
            throw new KenException($"{ModelPath} has no tensor '{name}'; check the name against the model's tensors.");
        }

        if (destinationLength != _data[index].ElementCount)
        {
            throw new ArgumentException(
                $"tensor '{name}' has {_data[index].ElementCount} elements, the destination {destinationLength}.",
                nameof(destinationLength));
        }

        return index;
    }

    private void ReadStored(OnnxInitializerData data, Span<float> destination)
    {
        if (data.DataPath is not null)
        {
            ReadFromFile(data, destination);
            return;
        }

        var proto = data.Proto;
        if (data.DType == TensorDType.F32)
        {
            var values = proto.FloatData;
            for (var i = 0; i < destination.Length; i++)
            {
                destination[i] = values[i];
            }
        }
        else
        {
            var bits = proto.Int32Data;
            for (var i = 0; i < destination.Length; i++)
            {
                destination[i] = FromHalfBits((ushort)bits[i], data.DType);
            }
        }
    }

    private void ReadFromFile(OnnxInitializerData data, Span<float> destination)
    {
        var path = data.DataPath!;
        var handle = DataFile(path);
        if (data.DType == TensorDType.F32)
        {
            ReadExactly(handle, MemoryMarshal.AsBytes(destination), data.DataOffset, path);
            return;
        }

        var length = checked((int)data.ByteLength);
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var bytes = buffer.AsSpan(0, length);
            ReadExactly(handle, bytes, data.DataOffset, path);
            Convert(bytes, data.DType, destination);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private SafeFileHandle DataFile(string path)
    {
        lock (_dataFilesLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_dataFiles.TryGetValue(path, out var handle))
            {
                handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
                _dataFiles[path] = handle;
            }

            return handle;
        }
    }

    private void ReadExactly(SafeFileHandle handle, Span<byte> destination, long offset, string path)
    {
        while (destination.Length > 0)
        {
            var read = RandomAccess.Read(handle, destination, offset);
            if (read == 0)
            {
                throw new KenException(path == ModelPath
                    ? $"ONNX model {path} shrank while reading it; restore the file."
                    : $"external data file {path} of {ModelPath} shrank while reading it; restore the file.");
            }

            destination = destination[read..];
            offset += read;
        }
    }

    private static void Convert(ReadOnlySpan<byte> bytes, TensorDType dtype, Span<float> destination)
    {
        switch (dtype)
        {
            case TensorDType.F32:
                bytes.CopyTo(MemoryMarshal.AsBytes(destination));
                break;
            case TensorDType.F16:
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(bytes), destination);
                break;
            default:
                var bits = MemoryMarshal.Cast<byte, ushort>(bytes);
                for (var i = 0; i < destination.Length; i++)
                {
                    destination[i] = FromHalfBits(bits[i], TensorDType.BF16);
                }

                break;
        }
    }

    private static float FromHalfBits(ushort bits, TensorDType dtype) => dtype == TensorDType.F16
        ? (float)BitConverter.UInt16BitsToHalf(bits)
        : BitConverter.Int32BitsToSingle(bits << 16);
}
