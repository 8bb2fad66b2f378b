using System.Buffers.Binary;
using System.Text;
using Ken.Format.Checkpoints.Safetensors;
using Ken.Format.Deltas;
using Ken.TestSupport;

namespace Ken.Format.Tests.Corpus;

/// <summary>Inputs the fuzzer (bench/fuzz.sh) found that escaped as other exceptions; each must be a <see cref="KenException"/> now.</summary>
public sealed class FuzzFindingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_safetensors_header_with_invalid_utf8_in_a_string_is_refused()
    {
        // JsonDocument accepts the bytes and throws InvalidOperationException only when the name is read.
        byte[] header = [.. "{\"a"u8, 0xC9, .. "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"u8];
        var path = Write(header, new byte[4]);

        var error = Assert.Throws<KenException>(() => SafetensorsFile.Open(path));
        Assert.Contains("UTF-8", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_ken_file_whose_metadata_has_invalid_utf8_is_refused()
    {
        var valid = SampleFiles.KenDelta();
        var at = Encoding.ASCII.GetString(valid).IndexOf("magnitude", StringComparison.Ordinal);
        valid[at + 1] = 0xFF;
        var path = _dir.File("bad.ken");
        File.WriteAllBytes(path, valid);

        Assert.Throws<KenException>(() => KenDeltaReader.Read(path));
    }

    [Theory]
    [InlineData("[\"0\",4]")]
    [InlineData("[0,null]")]
    [InlineData("[{},4]")]
    public void Safetensors_data_offsets_that_are_not_numbers_are_refused(string offsets)
    {
        var header = Encoding.UTF8.GetBytes($"{{\"a\":{{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{offsets}}}}}");
        var path = Write(header, new byte[4]);

        var error = Assert.Throws<KenException>(() => SafetensorsFile.Open(path));
        Assert.Contains("data_offsets", error.Message, StringComparison.Ordinal);
    }

    private string Write(byte[] header, byte[] data)
    {
        var path = _dir.File("finding.safetensors");
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
