using Google.Protobuf;
using Ken.Format.Checkpoints.Onnx.Proto;
using Microsoft.Win32.SafeHandles;

namespace Ken.Format.Checkpoints.Onnx;

/// <summary>
/// Parses an ONNX model without copying its weights into memory: the <c>raw_data</c> of every graph
/// initializer stays in the file and only its byte range is kept. Everything else (nodes, names,
/// shapes, typed data fields) is copied to a small buffer with those fields left out and parsed as
/// usual, so the model holds every initializer with all but its raw data.
/// </summary>
internal static class OnnxModelParser
{
    // Graphs nest (If/Loop bodies) but never this deep; the default of 100 is too tight for some
    // exporters' nested control flow.
    private const int RecursionLimit = 1000;

    private const int Varint = 0;
    private const int Fixed64 = 1;
    private const int LengthDelimited = 2;
    private const int StartGroup = 3;
    private const int EndGroup = 4;
    private const int Fixed32 = 5;

    private const uint ModelGraphTag = (7 << 3) | LengthDelimited;
    private const uint GraphInitializerTag = (5 << 3) | LengthDelimited;
    private const uint TensorRawDataTag = (9 << 3) | LengthDelimited;

    /// <summary>
    /// Reads the model in <paramref name="handle"/>. Returns the model and, for each of its graph's
    /// initializers in order, where its <c>raw_data</c> lies in the file (null when it has none).
    /// Throws <see cref="KenException"/> when the file is not a valid model.
    /// </summary>
    public static (ModelProto Model, OnnxByteRange?[] RawData) Parse(SafeFileHandle handle, string path)
    {
        var input = new OnnxFileBytes(handle, path);
        if (input.Length > int.MaxValue)
        {
            // Protobuf messages cannot exceed 2 GiB; bigger models must keep weights outside.
            throw OnnxCheckpoint.Invalid(path, "it is larger than 2 GiB without external data");
        }

        var rawData = new List<OnnxByteRange?>();
        var stripped = new MemoryStream();
        while (input.Position < input.Length)
        {
            var tag = input.ReadTag(input.Length);
            if (tag == ModelGraphTag)
            {
                var graph = new MemoryStream();
                CopyGraph(input, graph, End(input, input.Length), rawData);
                WriteMessage(stripped, tag, graph);
            }
            else
            {
                CopyField(input, stripped, tag, input.Length, 0);
            }
        }

        var model = new ModelProto();
        try
        {
            stripped.Position = 0;
            model.MergeFrom(CodedInputStream.CreateWithLimits(stripped, int.MaxValue, RecursionLimit));
        }
        catch (InvalidProtocolBufferException e)
        {
            throw OnnxCheckpoint.Invalid(path, e.Message.TrimEnd('.'));
        }

        if ((model.Graph?.Initializer.Count ?? 0) != rawData.Count)
        {
            throw OnnxCheckpoint.Invalid(path, $"its graph lists {rawData.Count} initializers but {model.Graph?.Initializer.Count ?? 0} parse");
        }

        return (model, [.. rawData]);
    }

    private static void CopyGraph(OnnxFileBytes input, MemoryStream output, long end, List<OnnxByteRange?> rawData)
    {
        while (input.Position < end)
        {
            var tag = input.ReadTag(end);
            if (tag == GraphInitializerTag)
            {
                var tensor = new MemoryStream();
                rawData.Add(CopyTensor(input, tensor, End(input, end)));
                WriteMessage(output, tag, tensor);
            }
            else
            {
                CopyField(input, output, tag, end, 0);
            }
        }
    }

    private static OnnxByteRange? CopyTensor(OnnxFileBytes input, MemoryStream output, long end)
    {
        OnnxByteRange? rawData = null;
        while (input.Position < end)
        {
            var tag = input.ReadTag(end);
            if (tag == TensorRawDataTag)
            {
                // Like a parser, the last occurrence of a non-repeated field wins.
                var length = input.ReadLength(end);
                rawData = new OnnxByteRange(input.Position, length);
                input.Skip(length);
            }
            else
            {
                CopyField(input, output, tag, end, 0);
            }
        }

        return rawData;
    }

    /// <summary>Reads a length prefix and returns where the message it announces ends.</summary>
    private static long End(OnnxFileBytes input, long end)
    {
        var length = input.ReadLength(end);
        return input.Position + length;
    }

    /// <summary>Copies one field whose tag was just read, payload and all, as the parser would see it.</summary>
    private static void CopyField(OnnxFileBytes input, MemoryStream output, uint tag, long end, int depth)
    {
        WriteVarint(output, tag);
        switch ((int)(tag & 7))
        {
            case Varint:
                WriteVarint(output, input.ReadVarint(end));
                break;
            case Fixed64:
                input.Require(8, end);
                input.CopyTo(output, 8);
                break;
            case Fixed32:
                input.Require(4, end);
                input.CopyTo(output, 4);
                break;
            case LengthDelimited:
                var length = input.ReadLength(end);
                WriteVarint(output, (ulong)length);
                input.CopyTo(output, length);
                break;
            case StartGroup:
                if (depth >= RecursionLimit)
                {
                    throw OnnxCheckpoint.Invalid(input.Path, "its groups nest too deeply");
                }

                CopyGroup(input, output, tag, end, depth + 1);
                break;
            default:
                throw OnnxCheckpoint.Invalid(input.Path, $"it has a field of unknown wire type {tag & 7} before byte {input.Position}");
        }
    }

    private static void CopyGroup(OnnxFileBytes input, MemoryStream output, uint startTag, long end, int depth)
    {
        var endTag = (startTag & ~7u) | EndGroup;
        while (true)
        {
            var tag = input.ReadTag(end);
            if (tag == endTag)
            {
                WriteVarint(output, tag);
                return;
            }

            CopyField(input, output, tag, end, depth);
        }
    }

    private static void WriteMessage(MemoryStream output, uint tag, MemoryStream message)
    {
        WriteVarint(output, tag);
        WriteVarint(output, (ulong)message.Length);
        message.WriteTo(output);
    }

    private static void WriteVarint(MemoryStream output, ulong value)
    {
        while (value >= 0x80)
        {
            output.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }

        output.WriteByte((byte)value);
    }
}
