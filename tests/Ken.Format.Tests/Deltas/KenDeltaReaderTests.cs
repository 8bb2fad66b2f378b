using System.Runtime.InteropServices;
using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Safetensors;
using Ken.Format.Deltas;
using Ken.TestSupport;

namespace Ken.Format.Tests.Deltas;

public class KenDeltaReaderTests
{
    private const string Tensor = "encoder.layer.0.output.dense.weight";

    [Fact]
    public void A_valid_hand_made_file_reads()
    {
        using var temp = new TempDirectory();
        string path = Write(temp, Valid());
        var delta = KenDeltaReader.Read(path);
        Assert.Equal([2f, 4f], Assert.Single(delta.PatchedTensors).Values);
    }

    [Fact]
    public void Popcount_different_from_value_count_names_the_tensor()
    {
        using var temp = new TempDirectory();
        var spec = Valid();
        spec.Mask = [0b0000_0111];
        AssertRejected(temp, spec, Tensor, "keeps 3 positions");
    }

    [Fact]
    public void NaN_in_values_names_the_tensor()
    {
        using var temp = new TempDirectory();
        var spec = Valid();
        spec.Values = [2f, float.NaN];
        AssertRejected(temp, spec, "values/" + Tensor, "NaN");
    }

    [Fact]
    public void Infinity_in_a_head_tensor_names_it()
    {
        using var temp = new TempDirectory();
        var spec = Valid();
        spec.Head = [float.PositiveInfinity, 0f];
        AssertRejected(temp, spec, "head/classifier.bias", "infinite");
    }

    [Theory]
    [InlineData("task")]
    [InlineData("kind")]
    [InlineData("labels")]
    [InlineData("pooling")]
    [InlineData("version")]
    [InlineData("created_by")]
    public void Missing_metadata_key_is_named(string key)
    {
        using var temp = new TempDirectory();
        var spec = Valid();
        spec.Metadata.Remove(key);
        AssertRejected(temp, spec, $"'{key}'", "ken prune");
    }

    [Fact]
    public void Missing_base_fingerprint_names_the_tensor()
    {
        using var temp = new TempDirectory();
        var spec = Valid();
        spec.Metadata.Remove("base." + Tensor);
        AssertRejected(temp, spec, Tensor, "fingerprint");
    }

    [Fact]
    public void Missing_shape_metadata_names_the_tensor()
    {
        using var temp = new TempDirectory();
        var spec = Valid();
        spec.Metadata.Remove("shape." + Tensor);
        AssertRejected(temp, spec, Tensor, "shape.");
    }

    [Theory]
    [InlineData("format", "safetensors", "not a Ken delta")]
    [InlineData("kind", "regression", "classification or embedding")]
    [InlineData("pooling", "max", "pooler, cls or mean")]
    [InlineData("labels", "neg,pos", "JSON array")]
    [InlineData("version", "2", "version 2")]
    [InlineData("method", "best", "ken, magnitude or random")]
    [InlineData("k", "0", "at least 1")]
    public void Wrong_metadata_values_are_rejected(string key, string value, string expected)
    {
        using var temp = new TempDirectory();
        var spec = Valid();
        spec.Metadata[key] = value;
        AssertRejected(temp, spec, key, expected);
    }

    [Fact]
    public void Missing_format_key_says_it_is_not_a_delta()
    {
        using var temp = new TempDirectory();
        var spec = Valid();
        spec.Metadata.Remove("format");
        AssertRejected(temp, spec, "format", "not a Ken delta");
    }

    [Fact]
    public void Both_k_and_keep_are_rejected()
    {
        using var temp = new TempDirectory();
        var spec = Valid();
        spec.Metadata["keep"] = "0.5";
        AssertRejected(temp, spec, "'keep'", "exactly one");
    }

    [Fact]
    public void Mask_length_not_matching_the_shape_names_the_tensor()
    {
        using var temp = new TempDirectory();
        var spec = Valid();
        spec.Mask = [0b0000_1010, 0];
        AssertRejected(temp, spec, Tensor, "needs 1 bytes");
    }

    [Fact]
    public void Mask_bits_beyond_the_tensor_are_rejected()
    {
        using var temp = new TempDirectory();
        var spec = Valid();
        spec.Mask = [0b0100_0010];
        AssertRejected(temp, spec, Tensor, "beyond");
    }

    [Fact]
    public void Values_without_a_mask_are_rejected()
    {
        using var temp = new TempDirectory();
        var spec = Valid();
        spec.ExtraValues = true;
        AssertRejected(temp, spec, "orphan.weight", "no mask/");
    }

    [Fact]
    public void Truncated_file_is_rejected_with_the_path()
    {
        using var temp = new TempDirectory();
        string path = Write(temp, Valid());
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^3]);
        var ex = Assert.Throws<KenException>(() => KenDeltaReader.Read(path));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    private static void AssertRejected(TempDirectory temp, DeltaSpec spec, string named, string expected)
    {
        string path = Write(temp, spec);
        var ex = Assert.Throws<KenException>(() => KenDeltaReader.Read(path));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    /// <summary>A 6-element tensor keeping elements 1 and 3, plus a head bias: valid until a test breaks it.</summary>
    private static DeltaSpec Valid() => new()
    {
        Metadata = new Dictionary<string, string>
        {
            ["format"] = "ken-delta",
            ["version"] = "1",
            ["task"] = "sst2",
            ["kind"] = "classification",
            ["labels"] = "[\"neg\",\"pos\"]",
            ["pooling"] = "cls",
            ["normalize"] = "false",
            ["k"] = "1",
            ["method"] = "ken",
            ["created_by"] = "hand",
            ["base." + Tensor] = "00000000deadbeef",
            ["shape." + Tensor] = "2,3",
        },
        Mask = [0b0000_1010],
        Values = [2f, 4f],
        Head = [0.5f, -0.5f],
    };

    private static string Write(TempDirectory temp, DeltaSpec spec)
    {
        string path = temp.File("task.ken");
        var tensors = new List<(SafetensorsDeclaration, byte[])>
        {
            (new SafetensorsDeclaration("mask/" + Tensor, "U8", [spec.Mask.Length]), spec.Mask),
            (new SafetensorsDeclaration("values/" + Tensor, TensorDType.F32, [spec.Values.Length]), Bytes(spec.Values)),
            (new SafetensorsDeclaration("head/classifier.bias", TensorDType.F32, [spec.Head.Length]), Bytes(spec.Head)),
        };
        if (spec.ExtraValues)
        {
            tensors.Add((new SafetensorsDeclaration("values/orphan.weight", TensorDType.F32, [1]), Bytes([1f])));
        }

        SafetensorsFiles.Write(path, tensors, spec.Metadata);
        return path;
    }

    private static byte[] Bytes(float[] values) => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    private sealed class DeltaSpec
    {
        public required Dictionary<string, string> Metadata { get; init; }

        public required byte[] Mask { get; set; }

        public required float[] Values { get; set; }

        public required float[] Head { get; set; }

        public bool ExtraValues { get; set; }
    }
}
