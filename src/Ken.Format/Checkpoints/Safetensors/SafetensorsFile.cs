using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;

namespace Ken.Format.Checkpoints.Safetensors;

/// <summary>
/// A safetensors file mapped read-only into memory. <see cref="Open"/> validates the whole header
/// (offsets, sizes, overlaps, dtypes) before returning, so every later read is in bounds.
/// Float tensors (F32, F16, BF16) are the <see cref="ICheckpoint"/> view; every entry, whatever its
/// dtype, is reachable through <see cref="Entries"/> and <see cref="GetBytes"/>.
/// </summary>
public sealed unsafe class SafetensorsFile : ICheckpoint
{
    private const string Fix = "re-export the file or download it again";

    /// <summary>Floats converted per step when a tensor is too large for one span.</summary>
    private const int ChunkElements = 1 << 20;

    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _data;
    private readonly long _dataLength;
    private readonly Dictionary<string, SafetensorsEntry> _byName;
    private readonly Dictionary<string, TensorInfo> _floatInfos;
    private bool _disposed;

    private SafetensorsFile(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* data, long dataLength, SafetensorsHeader header, string? configJson)
    {
        Source = path;
        _map = map;
        _view = view;
        _data = data;
        _dataLength = dataLength;
        Entries = header.Entries;
        Metadata = header.Metadata;
        ConfigJson = configJson;
        _byName = new Dictionary<string, SafetensorsEntry>(header.Entries.Count, StringComparer.Ordinal);
        _floatInfos = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
        var tensors = new List<TensorInfo>(header.Entries.Count);
        foreach (var entry in header.Entries)
        {
            _byName.Add(entry.Name, entry);
            if (entry.FloatDType is { } dtype)
            {
                var info = new TensorInfo(entry.Name, dtype, entry.Shape);
                tensors.Add(info);
                _floatInfos.Add(entry.Name, info);
            }
        }

        Tensors = tensors;
    }

    public string Source { get; }

    /// <summary>The float tensors (F32, F16, BF16), in header order.</summary>
    public IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>Every entry of the header, whatever its dtype, in header order.</summary>
    public IReadOnlyList<SafetensorsEntry> Entries { get; }

    /// <summary>The header's <c>__metadata__</c> string map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public string? ConfigJson { get; }

    /// <summary>Maps and validates <paramref name="path"/>; throws <see cref="KenException"/> saying what is wrong.</summary>
    public static SafetensorsFile Open(string path)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new KenException($"{path} does not exist; check the path.", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new KenException(
                Directory.Exists(path)
                    ? $"{path} is a folder, not a safetensors file; pass the .safetensors file, or open the folder as a Hugging Face model."
                    : $"{path} cannot be read ({ex.Message}); check its permissions.",
                ex);
        }
        catch (IOException ex)
        {
            throw new KenException($"{path} cannot be read ({ex.Message}); check the path and that no other process holds it.", ex);
        }

        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        bool pointerAcquired = false;
        try
        {
            long length = stream.Length;
            if (length < 8)
            {
                throw new KenException($"{path} is {(length == 0 ? "empty" : $"only {length} bytes")}, so it is truncated or not a safetensors file; {Fix}.");
            }

            map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            byte* basePointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePointer);
            pointerAcquired = true;
            basePointer += view.PointerOffset;

            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(basePointer, 8));
            if (headerLength > (ulong)(length - 8))
            {
                throw new KenException($"{path} declares a {headerLength}-byte header but has only {length - 8} bytes after the length field, so it is truncated or not a safetensors file; {Fix}.");
            }

            if (headerLength > SafetensorsHeader.MaxHeaderLength)
            {
                throw new KenException($"{path} declares a {headerLength}-byte header, more than the {SafetensorsHeader.MaxHeaderLength} bytes safetensors allows, so it is corrupt or not a safetensors file; {Fix}.");
            }

            long dataStart = 8 + (long)headerLength;
            var header = SafetensorsHeader.Parse(new ReadOnlySpan<byte>(basePointer + 8, (int)headerLength), length - dataStart, path);
            string? configJson = ReadConfigJson(path);
            return new SafetensorsFile(path, map, view, basePointer + dataStart, length - dataStart, header, configJson);
        }
        catch
        {
            if (pointerAcquired)
            {
                view!.SafeMemoryMappedViewHandle.ReleasePointer();
            }

            view?.Dispose();
            map?.Dispose();
            stream.Dispose();
            throw;
        }
    }

    public bool TryGetInfo(string name, out TensorInfo info)
    {
        if (_floatInfos.TryGetValue(name, out var found))
        {
            info = found;
            return true;
        }

        info = null!;
        return false;
    }

    /// <summary>Looks up any entry, float or not.</summary>
    public bool TryGetEntry(string name, out SafetensorsEntry entry)
    {
        if (_byName.TryGetValue(name, out var found))
        {
            entry = found;
            return true;
        }

        entry = null!;
        return false;
    }

    /// <summary>The named entry; throws <see cref="KenException"/> naming the file when absent.</summary>
    public SafetensorsEntry GetEntry(string name) =>
        _byName.TryGetValue(name, out var entry)
            ? entry
            : throw new KenException($"{Source} has no tensor '{name}'; check the name, or use a checkpoint that contains it.");

    /// <summary>
    /// The entry's raw little-endian bytes, straight from the mapped file; valid until this file is
    /// disposed. Entries over 2 GiB do not fit one span: use <see cref="ReadFloat32"/> for those.
    /// </summary>
    public ReadOnlySpan<byte> GetBytes(string name) => GetBytes(GetEntry(name));

    /// <inheritdoc cref="GetBytes(string)"/>
    public ReadOnlySpan<byte> GetBytes(SafetensorsEntry entry)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (entry.End > _dataLength || !_byName.TryGetValue(entry.Name, out var own) || own != entry)
        {
            throw new ArgumentException($"Entry '{entry.Name}' does not belong to {Source}.", nameof(entry));
        }

        if (entry.ByteLength > int.MaxValue)
        {
            throw new KenException($"{Source}: tensor '{entry.Name}' is {entry.ByteLength} bytes, too large for one span; read it with ReadFloat32, or split the checkpoint into shards.");
        }

        return new ReadOnlySpan<byte>(_data + entry.Begin, (int)entry.ByteLength);
    }

    public void ReadFloat32(string name, Span<float> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var entry = GetEntry(name);
        if (entry.FloatDType is not { } dtype)
        {
            throw new KenException($"{Source}: tensor '{name}' is {entry.DType}, not a float tensor (F32, F16, BF16); Ken reads only float weights, so leave it out.");
        }

        if (destination.Length != entry.ElementCount)
        {
            throw new ArgumentException($"Tensor '{name}' has {entry.ElementCount} elements but the destination holds {destination.Length}.", nameof(destination));
        }

        // Chunked so that tensors over 2 GiB of storage (but under 2^31 elements) still convert.
        int size = FloatEncoding.SizeOf(dtype);
        byte* source = _data + entry.Begin;
        for (int done = 0; done < destination.Length; done += ChunkElements)
        {
            int count = Math.Min(ChunkElements, destination.Length - done);
            FloatEncoding.Decode(new ReadOnlySpan<byte>(source + ((long)done * size), count * size), dtype, destination.Slice(done, count));
        }
    }

    /// <summary>Reads a float tensor into a new array.</summary>
    public float[] ReadFloat32(string name)
    {
        var entry = GetEntry(name);
        if (entry.ElementCount > Array.MaxLength)
        {
            throw new KenException($"{Source}: tensor '{name}' has {entry.ElementCount} elements, more than one array can hold.");
        }

        var values = new float[entry.ElementCount];
        ReadFloat32(name, values);
        return values;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }

    private static string? ReadConfigJson(string path)
    {
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        string config = Path.Combine(folder ?? ".", "config.json");
        return File.Exists(config) ? File.ReadAllText(config) : null;
    }
}
