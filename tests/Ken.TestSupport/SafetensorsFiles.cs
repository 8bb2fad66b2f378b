using System.Buffers.Binary;
using System.Text;
using Ken.Format.Checkpoints.Safetensors;

namespace Ken.TestSupport;

/// <summary>Builds safetensors files for tests, including malformed ones.</summary>
public static class SafetensorsFiles
{
    /// <summary>Writes the 8-byte length, <paramref name="headerJson"/> verbatim and <paramref name="data"/>.</summary>
    public static void WriteRaw(string path, string headerJson, byte[] data)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        using var stream = File.Create(path);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        stream.Write(data);
    }

    /// <summary>Writes a file with <see cref="SafetensorsWriter"/> from entries with their raw bytes.</summary>
    public static void Write(string path, IReadOnlyList<(SafetensorsDeclaration Declaration, byte[] Bytes)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var stream = File.Create(path);
        var declarations = new List<SafetensorsDeclaration>();
        foreach (var (declaration, _) in tensors)
        {
            declarations.Add(declaration);
        }

        var writer = new SafetensorsWriter(stream, declarations, metadata);
        foreach (var (declaration, bytes) in tensors)
        {
            writer.WriteEntry(declaration.Name, bytes);
        }

        writer.Complete();
    }
}
