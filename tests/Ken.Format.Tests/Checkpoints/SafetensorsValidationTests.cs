using Ken.Format.Checkpoints.Safetensors;
using Ken.TestSupport;

namespace Ken.Format.Tests.Checkpoints;

public class SafetensorsValidationTests
{
    [Fact]
    public void Missing_file_names_the_path()
    {
        using var temp = new TempDirectory();
        string path = temp.File("absent.safetensors");
        var ex = Assert.Throws<KenException>(() => SafetensorsFile.Open(path));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_file_is_reported_as_truncated()
    {
        using var temp = new TempDirectory();
        string path = temp.File("empty.safetensors");
        File.WriteAllBytes(path, []);
        var ex = Assert.Throws<KenException>(() => SafetensorsFile.Open(path));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("empty", ex.Message, StringComparison.Ordinal);
        Assert.Contains("re-export", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Header_length_past_the_end_is_reported_as_truncated()
    {
        using var temp = new TempDirectory();
        string path = temp.File("short.safetensors");
        File.WriteAllBytes(path, [200, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'}']);
        var ex = Assert.Throws<KenException>(() => SafetensorsFile.Open(path));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("[1, 2]")]
    [InlineData("{\"__metadata__\": {\"a\": 1}}")]
    public void Bad_header_json_is_rejected(string header)
    {
        using var temp = new TempDirectory();
        string path = temp.File("bad.safetensors");
        SafetensorsFiles.WriteRaw(path, header, []);
        var ex = Assert.Throws<KenException>(() => SafetensorsFile.Open(path));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Offsets_past_the_data_section_name_the_tensor()
    {
        using var temp = new TempDirectory();
        string path = temp.File("bad.safetensors");
        SafetensorsFiles.WriteRaw(path, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[4]);
        var ex = Assert.Throws<KenException>(() => SafetensorsFile.Open(path));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("'w'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Begin_after_end_names_the_tensor()
    {
        using var temp = new TempDirectory();
        string path = temp.File("bad.safetensors");
        SafetensorsFiles.WriteRaw(path, "{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,0]}}", new byte[4]);
        var ex = Assert.Throws<KenException>(() => SafetensorsFile.Open(path));
        Assert.Contains("'w'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Overlapping_tensors_are_both_named()
    {
        using var temp = new TempDirectory();
        string path = temp.File("bad.safetensors");
        SafetensorsFiles.WriteRaw(
            path,
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
            new byte[12]);
        var ex = Assert.Throws<KenException>(() => SafetensorsFile.Open(path));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("'a'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'b'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("overlap", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Byte_size_must_match_dtype_and_shape()
    {
        using var temp = new TempDirectory();
        string path = temp.File("bad.safetensors");
        SafetensorsFiles.WriteRaw(path, "{\"w\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]);
        var ex = Assert.Throws<KenException>(() => SafetensorsFile.Open(path));
        Assert.Contains("'w'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("needs 6", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_dtype_names_the_tensor()
    {
        using var temp = new TempDirectory();
        string path = temp.File("bad.safetensors");
        SafetensorsFiles.WriteRaw(path, "{\"w\":{\"dtype\":\"Q4\",\"shape\":[4],\"data_offsets\":[0,4]}}", new byte[4]);
        var ex = Assert.Throws<KenException>(() => SafetensorsFile.Open(path));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("'w'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Q4", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_entry_fields_name_the_tensor()
    {
        using var temp = new TempDirectory();
        string path = temp.File("bad.safetensors");
        SafetensorsFiles.WriteRaw(path, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", new byte[4]);
        var ex = Assert.Throws<KenException>(() => SafetensorsFile.Open(path));
        Assert.Contains("'w'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("data_offsets", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_folder_is_not_a_file()
    {
        using var temp = new TempDirectory();
        var ex = Assert.Throws<KenException>(() => SafetensorsFile.Open(temp.Path));
        Assert.Contains(temp.Path, ex.Message, StringComparison.Ordinal);
    }
}
