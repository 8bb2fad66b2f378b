using Ken.Format.Checkpoints.Onnx.Proto;

namespace Ken.Format.Checkpoints.Onnx;

/// <summary>Where one float initializer's elements live and how they are encoded.</summary>
internal sealed class OnnxInitializerData
{
    private OnnxInitializerData(TensorProto proto, TensorDType dtype, long elementCount)
    {
        Proto = proto;
        DType = dtype;
        ElementCount = elementCount;
    }

    public TensorProto Proto { get; }

    public TensorDType DType { get; }

    public long ElementCount { get; }

    /// <summary>
    /// Absolute path of the file that holds the elements' bytes: the model itself for
    /// <c>raw_data</c>, an external data file, or null when they are in a typed field of the proto
    /// (<c>float_data</c>, <c>int32_data</c>).
    /// </summary>
    public string? DataPath { get; private init; }

    /// <summary>Offset of the first element's bytes in <see cref="DataPath"/>.</summary>
    public long DataOffset { get; private init; }

    public long ByteLength => ElementCount * ElementSize(DType);

    public static int ElementSize(TensorDType dtype) => dtype == TensorDType.F32 ? 4 : 2;

    /// <summary>The Ken element type of an ONNX data type, or null for non-float tensors.</summary>
    public static TensorDType? FromOnnx(int dataType) => (TensorProto.Types.DataType)dataType switch
    {
        TensorProto.Types.DataType.Float => TensorDType.F32,
        TensorProto.Types.DataType.Float16 => TensorDType.F16,
        TensorProto.Types.DataType.Bfloat16 => TensorDType.BF16,
        _ => null,
    };

    /// <summary>
    /// Checks that the initializer's data is all there, so later reads cannot fail on a bad model.
    /// <paramref name="rawData"/> is where its <c>raw_data</c> lies in the model file (the proto
    /// itself holds none), or null when it has none.
    /// Throws <see cref="KenException"/> whose message names the model and the initializer.
    /// </summary>
    public static OnnxInitializerData Create(
        TensorProto proto, OnnxByteRange? rawData, TensorDType dtype, string modelPath, string modelFolder)
    {
        long count = 1;
        foreach (var dim in proto.Dims)
        {
            if (dim < 0)
            {
                throw OnnxCheckpoint.Invalid(modelPath, $"initializer '{proto.Name}' has a negative dimension {dim}");
            }

            try
            {
                count = checked(count * dim);
            }
            catch (OverflowException)
            {
                throw OnnxCheckpoint.Invalid(modelPath, $"initializer '{proto.Name}' has too many elements");
            }
        }

        if (count > long.MaxValue / ElementSize(dtype))
        {
            throw OnnxCheckpoint.Invalid(modelPath, $"initializer '{proto.Name}' has too many elements");
        }

        var bytes = count * ElementSize(dtype);
        if (proto.DataLocation == TensorProto.Types.DataLocation.External)
        {
            var (path, offset) = ValidateExternal(proto, bytes, modelPath, modelFolder);
            return new OnnxInitializerData(proto, dtype, count) { DataPath = path, DataOffset = offset };
        }

        // FLOAT16 and BFLOAT16 without raw_data keep one 16-bit pattern per int32_data entry.
        var (stored, expected, field) =
            rawData is { } raw ? (raw.Length, bytes, "raw_data bytes")
            : dtype == TensorDType.F32 ? (proto.FloatData.Count, count, "float_data values")
            : ((long)proto.Int32Data.Count, count, "int32_data values");
        if (stored != expected)
        {
            throw OnnxCheckpoint.Invalid(
                modelPath,
                $"initializer '{proto.Name}' of shape [{string.Join(", ", proto.Dims)}] has {stored} {field}, expected {expected}");
        }

        return rawData is { } range
            ? new OnnxInitializerData(proto, dtype, count) { DataPath = modelPath, DataOffset = range.Offset }
            : new OnnxInitializerData(proto, dtype, count);
    }

    private static (string Path, long Offset) ValidateExternal(TensorProto proto, long bytes, string modelPath, string modelFolder)
    {
        string? location = null;
        long offset = 0;
        long? length = null;
        foreach (var entry in proto.ExternalData)
        {
            switch (entry.Key)
            {
                case "location":
                    location = entry.Value;
                    break;
                case "offset":
                    offset = ParseNonNegative(entry.Value, "offset", proto, modelPath);
                    break;
                case "length":
                    length = ParseNonNegative(entry.Value, "length", proto, modelPath);
                    break;
                default:
                    break;
            }
        }

        if (string.IsNullOrEmpty(location))
        {
            throw OnnxCheckpoint.Invalid(modelPath, $"initializer '{proto.Name}' has external data without a location");
        }

        // Like the ONNX checker: external files live under the model's folder, so a model cannot
        // make Ken read arbitrary files.
        var path = Path.GetFullPath(Path.Combine(modelFolder, location));
        var root = Path.TrimEndingDirectorySeparator(modelFolder) + Path.DirectorySeparatorChar;
        if (Path.IsPathRooted(location) || !path.StartsWith(root, StringComparison.Ordinal))
        {
            throw OnnxCheckpoint.Invalid(
                modelPath, $"initializer '{proto.Name}' points at external data '{location}' outside the model's folder");
        }

        if (length is { } declared && declared != bytes)
        {
            throw OnnxCheckpoint.Invalid(
                modelPath, $"initializer '{proto.Name}' declares {declared} bytes of external data, its shape needs {bytes}");
        }

        var file = new FileInfo(path);
        if (!file.Exists)
        {
            throw new KenException(
                $"{modelPath} keeps initializer '{proto.Name}' in '{location}', which is missing; " +
                "copy the model together with its external data files.");
        }

        if (bytes > file.Length || offset > file.Length - bytes)
        {
            throw OnnxCheckpoint.Invalid(
                modelPath,
                $"initializer '{proto.Name}' needs bytes {offset}..{offset + bytes} of '{location}', which has only {file.Length}");
        }

        return (path, offset);
    }

    private static long ParseNonNegative(string text, string key, TensorProto proto, string modelPath)
    {
        if (!long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value))
        {
            throw OnnxCheckpoint.Invalid(modelPath, $"initializer '{proto.Name}' has external data {key} '{text}'");
        }

        return value;
    }
}
