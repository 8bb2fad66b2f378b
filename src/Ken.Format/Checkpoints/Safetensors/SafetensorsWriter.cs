using System.Buffers;
using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Ken.Format.Checkpoints.Safetensors;

/// <summary>
/// Streams a safetensors file: the header (offsets computed from the declared dtypes and shapes) is
/// written on construction, then the tensors' bytes in declared order. <see cref="Complete"/> checks
/// that exactly the declared number of bytes arrived; writing past it throws at once.
/// </summary>
public sealed class SafetensorsWriter
{
    /// <summary>The header is padded with spaces to this multiple, as the Hugging Face writer does, so the data section starts aligned.</summary>
    public const int HeaderAlignment = 8;

    /// <summary>Floats converted per step when encoding to F16/BF16, bounding the scratch buffer.</summary>
    private const int ChunkElements = 1 << 16;

    private readonly Stream _destination;
    private readonly SafetensorsEntry[] _entries;
    private readonly Dictionary<string, int> _indexByName;
    private readonly long _dataLength;
    private long _written;
    private bool _completed;

    /// <summary>Writes the header of a file holding <paramref name="declarations"/> to <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException">A name repeats, a dtype is unknown, or a dimension is negative.</exception>
    public SafetensorsWriter(Stream destination, IReadOnlyList<SafetensorsDeclaration> declarations, IReadOnlyDictionary<string, string>? metadata = null)
    {
        _destination = destination;
        _entries = new SafetensorsEntry[declarations.Count];
        _indexByName = new Dictionary<string, int>(declarations.Count, StringComparer.Ordinal);
        long offset = 0;
        for (int i = 0; i < declarations.Count; i++)
        {
            var declaration = declarations[i];
            if (declaration.Name == "__metadata__" || declaration.Name.Length == 0)
            {
                throw new ArgumentException($"'{declaration.Name}' cannot name a tensor.", nameof(declarations));
            }

            if (!SafetensorsDTypes.IsKnown(declaration.DType))
            {
                throw new ArgumentException($"Tensor '{declaration.Name}' has unknown dtype '{declaration.DType}'.", nameof(declarations));
            }

            foreach (var d in declaration.Shape)
            {
                if (d < 0)
                {
                    throw new ArgumentException($"Tensor '{declaration.Name}' has a negative dimension.", nameof(declarations));
                }
            }

            if (!_indexByName.TryAdd(declaration.Name, i))
            {
                throw new ArgumentException($"Tensor '{declaration.Name}' is declared twice.", nameof(declarations));
            }

            long end = checked(offset + declaration.ByteLength);
            _entries[i] = new SafetensorsEntry(declaration.Name, declaration.DType, declaration.Shape.ToArray(), offset, end);
            offset = end;
        }

        _dataLength = offset;
        var header = BuildHeader(_entries, metadata);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        _destination.Write(length);
        _destination.Write(header);
    }

    /// <summary>The entries as they will appear in the file, with their offsets.</summary>
    public IReadOnlyList<SafetensorsEntry> Entries => _entries;

    /// <summary>Bytes of tensor data still expected.</summary>
    public long BytesRemaining => _dataLength - _written;

    /// <summary>Appends the next raw bytes of the data section (tensors back to back in declared order).</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        if (_completed)
        {
            throw new InvalidOperationException("The safetensors file is already complete.");
        }

        if (bytes.Length > BytesRemaining)
        {
            throw new InvalidOperationException($"Writing {bytes.Length} bytes would exceed the declared data size by {bytes.Length - BytesRemaining} bytes.");
        }

        _destination.Write(bytes);
        _written += bytes.Length;
    }

    /// <summary>Writes all of tensor <paramref name="name"/>'s bytes; it must be the next declared tensor and the length must match.</summary>
    public void WriteEntry(string name, ReadOnlySpan<byte> bytes)
    {
        var entry = NextEntry(name);
        if (bytes.Length != entry.ByteLength)
        {
            throw new InvalidOperationException($"Tensor '{name}' is declared as {entry.ByteLength} bytes but {bytes.Length} were given.");
        }

        Write(bytes);
    }

    /// <summary>
    /// Writes tensor <paramref name="name"/> from float32 values, encoded as its declared dtype
    /// (F32, F16 or BF16; round-to-nearest-even); it must be the next declared tensor.
    /// </summary>
    public void WriteEntry(string name, ReadOnlySpan<float> values)
    {
        var entry = NextEntry(name);
        if (entry.FloatDType is not { } dtype)
        {
            throw new InvalidOperationException($"Tensor '{name}' is declared as {entry.DType}, not a float dtype.");
        }

        if (values.Length != entry.ElementCount)
        {
            throw new InvalidOperationException($"Tensor '{name}' is declared with {entry.ElementCount} elements but {values.Length} were given.");
        }

        int size = FloatEncoding.SizeOf(dtype);
        byte[] scratch = ArrayPool<byte>.Shared.Rent(Math.Min(values.Length, ChunkElements) * size);
        try
        {
            for (int done = 0; done < values.Length; done += ChunkElements)
            {
                int count = Math.Min(ChunkElements, values.Length - done);
                var bytes = scratch.AsSpan(0, count * size);
                FloatEncoding.Encode(values.Slice(done, count), dtype, bytes);
                Write(bytes);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>Checks that every declared byte was written and flushes the stream.</summary>
    public void Complete()
    {
        if (_written != _dataLength)
        {
            throw new InvalidOperationException($"Only {_written} of the declared {_dataLength} data bytes were written.");
        }

        _completed = true;
        _destination.Flush();
    }

    /// <summary>The header JSON, space-padded to <see cref="HeaderAlignment"/> bytes.</summary>
    internal static byte[] BuildHeader(IReadOnlyList<SafetensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        // Relaxed escaping keeps metadata such as a labels array readable in other tools; the header is
        // never embedded in HTML, which is what the default escaping guards against.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");

                // Sorted so that the same content always produces the same bytes.
                var keys = new string[metadata.Count];
                int k = 0;
                foreach (var key in metadata.Keys)
                {
                    keys[k++] = key;
                }

                Array.Sort(keys, StringComparer.Ordinal);
                foreach (var key in keys)
                {
                    json.WriteString(key, metadata[key]);
                }

                json.WriteEndObject();
            }

            foreach (var entry in entries)
            {
                json.WriteStartObject(entry.Name);
                json.WriteString("dtype", entry.DType);
                json.WriteStartArray("shape");
                foreach (var d in entry.Shape)
                {
                    json.WriteNumberValue(d);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(entry.Begin);
                json.WriteNumberValue(entry.End);
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        int padded = (buffer.WrittenCount + HeaderAlignment - 1) / HeaderAlignment * HeaderAlignment;
        var header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }

    private SafetensorsEntry NextEntry(string name)
    {
        if (!_indexByName.TryGetValue(name, out int index))
        {
            throw new InvalidOperationException($"Tensor '{name}' was not declared.");
        }

        var entry = _entries[index];
        if (entry.Begin != _written)
        {
            throw new InvalidOperationException($"Tensor '{name}' starts at data byte {entry.Begin} but {_written} bytes have been written; write tensors in declared order.");
        }

        return entry;
    }
}
