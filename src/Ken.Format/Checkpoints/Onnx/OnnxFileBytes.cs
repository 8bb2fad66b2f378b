using Microsoft.Win32.SafeHandles;

namespace Ken.Format.Checkpoints.Onnx;

/// <summary>
/// Reads an ONNX file front to back at the protobuf wire level through one small buffer, and skips
/// what it does not need without reading it. Every read is bounded by the end of the message it is in,
/// so a field that claims more bytes than its message holds is reported, not read past.
/// </summary>
internal sealed class OnnxFileBytes
{
    private const int BufferSize = 1 << 16;

    private readonly SafeFileHandle _handle;
    private readonly byte[] _buffer = new byte[BufferSize];
    private long _bufferStart;
    private int _bufferCount;

    public OnnxFileBytes(SafeFileHandle handle, string path)
    {
        _handle = handle;
        Path = path;
        Length = RandomAccess.GetLength(handle);
    }

    /// <summary>The file's path, for messages.</summary>
    public string Path { get; }

    /// <summary>The file's length when the reader was made.</summary>
    public long Length { get; }

    /// <summary>Offset of the next byte to read.</summary>
    public long Position { get; private set; }

    /// <summary>Reads a field tag, which must fit 32 bits and name a field number of at least 1.</summary>
    public uint ReadTag(long end)
    {
        var tag = ReadVarint(end);
        if (tag > uint.MaxValue || tag >> 3 == 0)
        {
            throw OnnxCheckpoint.Invalid(Path, $"it has an invalid field tag {tag} at byte {Position}");
        }

        return (uint)tag;
    }

    public ulong ReadVarint(long end)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = ReadByte(end);
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw OnnxCheckpoint.Invalid(Path, $"it has a malformed varint before byte {Position}");
    }

    /// <summary>Reads a length prefix and checks that that many bytes remain before <paramref name="end"/>.</summary>
    public long ReadLength(long end)
    {
        var length = ReadVarint(end);
        Require(length, end);
        return (long)length;
    }

    /// <summary>Checks that <paramref name="count"/> bytes remain before <paramref name="end"/>.</summary>
    public void Require(ulong count, long end)
    {
        if (count > (ulong)(end - Position))
        {
            throw OnnxCheckpoint.Invalid(
                Path, $"a field at byte {Position} needs {count} bytes but its message has only {end - Position} left, so the file is truncated or corrupt");
        }
    }

    /// <summary>Copies the next <paramref name="count"/> bytes (already checked with <see cref="Require"/>) to <paramref name="output"/>.</summary>
    public void CopyTo(Stream output, long count)
    {
        while (count > 0)
        {
            if (!Buffered())
            {
                Fill();
            }

            var from = (int)(Position - _bufferStart);
            var take = (int)Math.Min(count, _bufferCount - from);
            output.Write(_buffer, from, take);
            Position += take;
            count -= take;
        }
    }

    /// <summary>Moves past the next <paramref name="count"/> bytes (already checked with <see cref="Require"/>) without reading them.</summary>
    public void Skip(long count) => Position += count;

    private byte ReadByte(long end)
    {
        Require(1, end);
        if (!Buffered())
        {
            Fill();
        }

        return _buffer[Position++ - _bufferStart];
    }

    private bool Buffered() => Position >= _bufferStart && Position < _bufferStart + _bufferCount;

    private void Fill()
    {
        _bufferStart = Position;
        _bufferCount = RandomAccess.Read(_handle, _buffer, Position);
        if (_bufferCount == 0)
        {
            throw new KenException($"ONNX model {Path} shrank while reading it; restore the file.");
        }
    }
}
