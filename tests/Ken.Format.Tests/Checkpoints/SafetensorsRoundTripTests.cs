using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Safetensors;
using Ken.TestSupport;

namespace Ken.Format.Tests.Checkpoints;

public class SafetensorsRoundTripTests
{
    private static readonly float[] Values = [1f, -2.5f, 0.125f, 0.375f, 256f, -0f];

    [Fact]
    public void Float_and_byte_tensors_round_trip_with_metadata()
    {
        using var temp = new TempDirectory();
        string path = temp.File("model.safetensors");
        byte[] u8 = [0, 1, 2, 255];
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "héllo \"quoted\" <tag>" };
        using (var stream = File.Create(path))
        {
            var writer = new SafetensorsWriter(
                stream,
                [
                    new SafetensorsDeclaration("a.f32", TensorDType.F32, [2, 3]),
                    new SafetensorsDeclaration("b.f16", TensorDType.F16, [6]),
                    new SafetensorsDeclaration("c.bf16", TensorDType.BF16, [3, 2]),
                    new SafetensorsDeclaration("d.u8", "U8", [4]),
                    new SafetensorsDeclaration("e.empty", TensorDType.F32, [0, 4]),
                ],
                metadata);
            writer.WriteEntry("a.f32", Values.AsSpan());
            writer.WriteEntry("b.f16", Values.AsSpan());
            writer.WriteEntry("c.bf16", Values.AsSpan());
            writer.WriteEntry("d.u8", u8);
            writer.WriteEntry("e.empty", ReadOnlySpan<float>.Empty);
            writer.Complete();
        }

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(metadata, file.Metadata);
        Assert.Equal(["a.f32", "b.f16", "c.bf16", "e.empty"], file.Tensors.Select(t => t.Name));
        Assert.Equal(5, file.Entries.Count);
        Assert.True(file.TryGetInfo("a.f32", out var info));
        Assert.Equal(TensorDType.F32, info.DType);
        Assert.Equal([2L, 3L], info.Shape);
        Assert.False(file.TryGetInfo("d.u8", out _));

        Assert.Equal(Values, file.ReadFloat32("a.f32"));
        Assert.Equal(Values, file.ReadFloat32("b.f16"));
        Assert.Equal(Values, file.ReadFloat32("c.bf16"));
        Assert.Empty(file.ReadFloat32("e.empty"));
        Assert.Equal(u8, file.GetBytes("d.u8").ToArray());
        Assert.Equal("U8", file.GetEntry("d.u8").DType);
        Assert.Equal(MemoryMarshal.AsBytes(Values.AsSpan()).ToArray(), file.GetBytes("a.f32").ToArray());
        Assert.Null(file.ConfigJson);

        var ex = Assert.Throws<KenException>(() => file.ReadFloat32("d.u8", new float[4]));
        Assert.Contains("'d.u8'", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<KenException>(() => file.ReadFloat32("missing", new float[1]));
        Assert.Contains("'missing'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Written_header_has_the_documented_layout()
    {
        using var temp = new TempDirectory();
        string path = temp.File("x.safetensors");
        SafetensorsFiles.Write(
            path,
            [(new SafetensorsDeclaration("w", TensorDType.F32, [2]), MemoryMarshal.AsBytes(new float[] { 1f, 2f }.AsSpan()).ToArray()),
             (new SafetensorsDeclaration("m", "U8", [3]), new byte[] { 7, 8, 9 })],
            new Dictionary<string, string> { ["k"] = "v" });

        byte[] bytes = File.ReadAllBytes(path);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, headerLength % 8);
        Assert.Equal((long)(8 + headerLength + 8 + 3), bytes.LongLength);

        string header = Encoding.UTF8.GetString(bytes, 8, (int)headerLength);
        Assert.Equal(
            "{\"__metadata__\":{\"k\":\"v\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"m\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[8,11]}}",
            header.TrimEnd(' '));
        Assert.True(header.EndsWith(' ') || header.Length % 8 == 0);
        using (JsonDocument.Parse(header))
        {
        }

        int data = 8 + (int)headerLength;
        Assert.Equal(1f, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(data)));
        Assert.Equal(2f, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(data + 4)));
        Assert.Equal(new byte[] { 7, 8, 9 }, bytes[(data + 8)..]);
    }

    [Fact]
    public void Writer_rejects_byte_counts_that_differ_from_the_declaration()
    {
        using var stream = new MemoryStream();
        var writer = new SafetensorsWriter(stream, [new SafetensorsDeclaration("w", TensorDType.F32, [2])]);
        Assert.Throws<InvalidOperationException>(() => writer.WriteEntry("w", new byte[4]));
        writer.Write(new byte[4]);
        Assert.Throws<InvalidOperationException>(() => writer.Complete());
        Assert.Throws<InvalidOperationException>(() => writer.Write(new byte[5]));
        writer.Write(new byte[4]);
        writer.Complete();
    }

    [Fact]
    public void Writer_rejects_duplicate_names_and_unknown_dtypes()
    {
        using var stream = new MemoryStream();
        Assert.Throws<ArgumentException>(() => new SafetensorsWriter(stream, [new("a", "F32", [1]), new("a", "F32", [1])]));
        Assert.Throws<ArgumentException>(() => new SafetensorsWriter(stream, [new("a", "F7", [1])]));
    }

    [Fact]
    public void Config_json_next_to_the_file_is_exposed()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("config.json"), "{\"hidden_size\": 4}");
        SafetensorsFiles.Write(temp.File("w.safetensors"), [(new SafetensorsDeclaration("w", TensorDType.F32, [1]), new byte[4])]);
        using var file = SafetensorsFile.Open(temp.File("w.safetensors"));
        Assert.Equal("{\"hidden_size\": 4}", file.ConfigJson);
    }
}
