using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Safetensors;
using Ken.Format.Deltas;
using Ken.TestSupport;

namespace Ken.Format.Tests.Deltas;

public class KenDeltaRoundTripTests
{
    internal static KenDeltaMetadata Metadata(TaskKind kind = TaskKind.Classification) => new()
    {
        Task = "sst2",
        Kind = kind,
        Labels = kind == TaskKind.Classification ? ["négatif", "positive \"yes\""] : [],
        Pooling = PoolingMode.Pooler,
        Normalize = false,
        K = 3,
        Method = "magnitude",
        CreatedBy = "ken tests",
        BaseModel = "all-MiniLM-L6-v2",
    };

    [Theory]
    [InlineData(TensorDType.F32)]
    [InlineData(TensorDType.F16)]
    [InlineData(TensorDType.BF16)]
    public void Delta_round_trips_in_every_value_dtype(TensorDType dtype)
    {
        using var temp = new TempDirectory();
        string path = temp.File("task.ken");

        // 2 rows × 5: keep elements 0, 3, 4 of row 0 and 6, 9 of row 1 (11 bits → 2 mask bytes with padding).
        float[] finetuned = [0.5f, 9f, 9f, -1.25f, 2f, 9f, 0.75f, 9f, 9f, -3f];
        var mask = new byte[MaskBits.ByteLength(10)];
        foreach (int i in new[] { 0, 3, 4, 6, 9 })
        {
            MaskBits.Set(mask, i);
        }

        ulong fingerprint = TensorFingerprint.Compute(new float[10]);
        var patch = PatchedTensor.FromMask("encoder.layer.0.attention.self.query.weight", [2, 5], finetuned, mask, dtype, fingerprint);
        var head = new HeadTensor("classifier.weight", [2, 2], [1f, -1f, 0.5f, 0.25f], dtype);
        var delta = new KenDelta(Metadata() with { }, [patch], [head]);
        KenDeltaWriter.Write(path, delta);

        var read = KenDeltaReader.Read(path);
        Assert.Equal("sst2", read.Metadata.Task);
        Assert.Equal(TaskKind.Classification, read.Metadata.Kind);
        Assert.Equal(["négatif", "positive \"yes\""], read.Metadata.Labels);
        Assert.Equal(PoolingMode.Pooler, read.Metadata.Pooling);
        Assert.Equal(3, read.Metadata.K);
        Assert.Null(read.Metadata.Keep);
        Assert.Equal("magnitude", read.Metadata.Method);
        Assert.Equal("all-MiniLM-L6-v2", read.Metadata.BaseModel);

        var readPatch = Assert.Single(read.PatchedTensors);
        Assert.Equal(patch.Name, readPatch.Name);
        Assert.Equal([2L, 5L], readPatch.Shape);
        Assert.Equal(mask, readPatch.Mask);
        Assert.Equal(5, readPatch.KeptCount);
        Assert.Equal([0.5f, -1.25f, 2f, 0.75f, -3f], readPatch.Values);
        Assert.Equal(dtype, readPatch.ValuesDType);
        Assert.Equal(fingerprint, readPatch.BaseFingerprint);

        var readHead = Assert.Single(read.HeadTensors);
        Assert.Equal("classifier.weight", readHead.Name);
        Assert.Equal([2L, 2L], readHead.Shape);
        Assert.Equal(head.Data, readHead.Data);
        Assert.Equal(dtype, readHead.DType);

        var weights = new float[10];
        readPatch.ApplyTo(weights);
        Assert.Equal([0.5f, 0f, 0f, -1.25f, 2f, 0f, 0.75f, 0f, 0f, -3f], weights);
    }

    [Fact]
    public void Delta_is_a_plain_safetensors_file_with_the_documented_entries()
    {
        using var temp = new TempDirectory();
        string path = temp.File("task.ken");
        var mask = new byte[] { 0b0000_0101 };
        var patch = new PatchedTensor("w", [3], mask, [1f, 3f], TensorDType.F32, 0x0123_4567_89ab_cdefUL);
        KenDeltaWriter.Write(path, new KenDelta(Metadata(TaskKind.Embedding) with { K = null, Keep = 0.25, Pooling = PoolingMode.Mean, Normalize = true, Method = "random", Seed = 42 }, [patch], []));

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(["mask/w", "values/w"], file.Entries.Select(e => e.Name));
        Assert.Equal("U8", file.GetEntry("mask/w").DType);
        Assert.Equal([1L], file.GetEntry("mask/w").Shape);
        Assert.Equal([2L], file.GetEntry("values/w").Shape);
        Assert.Equal("ken-delta", file.Metadata["format"]);
        Assert.Equal("1", file.Metadata["version"]);
        Assert.Equal("embedding", file.Metadata["kind"]);
        Assert.Equal("[]", file.Metadata["labels"]);
        Assert.Equal("mean", file.Metadata["pooling"]);
        Assert.Equal("true", file.Metadata["normalize"]);
        Assert.Equal("0.25", file.Metadata["keep"]);
        Assert.False(file.Metadata.ContainsKey("k"));
        Assert.Equal("random", file.Metadata["method"]);
        Assert.Equal("42", file.Metadata["seed"]);
        Assert.Equal("0123456789abcdef", file.Metadata["base.w"]);
        Assert.Equal("3", file.Metadata["shape.w"]);
        Assert.Equal("ken tests", file.Metadata["created_by"]);

        var read = KenDeltaReader.Read(path);
        Assert.Equal(0.25, read.Metadata.Keep);
        Assert.Equal(42L, read.Metadata.Seed);
        Assert.True(read.Metadata.Normalize);
    }

    [Fact]
    public void Mask_bits_are_LSB_first_in_row_major_order()
    {
        // Byte 0 = 0b1000_0010: elements 1 and 7. Byte 1 = 0b0000_0001: element 8.
        byte[] mask = [0b1000_0010, 0b0000_0001];
        float[] tensor = [0f, 10f, 20f, 30f, 40f, 50f, 60f, 70f, 80f, 90f];
        var patch = PatchedTensor.FromMask("t", [2, 5], tensor, mask, TensorDType.F32, 0);
        Assert.Equal([10f, 70f, 80f], patch.Values);
        Assert.True(MaskBits.IsSet(mask, 1));
        Assert.True(MaskBits.IsSet(mask, 7));
        Assert.True(MaskBits.IsSet(mask, 8));
        Assert.False(MaskBits.IsSet(mask, 0));
        Assert.Equal(3, MaskBits.PopCount(mask));
    }

    [Fact]
    public void Popcount_and_gather_agree_across_word_boundaries()
    {
        var random = new Random(3);
        const int n = 1000;
        var mask = new byte[MaskBits.ByteLength(n)];
        var tensor = new float[n];
        var expected = new List<float>();
        for (int i = 0; i < n; i++)
        {
            tensor[i] = i;
            if (random.Next(3) == 0)
            {
                MaskBits.Set(mask, i);
                expected.Add(i);
            }
        }

        Assert.Equal(expected.Count, MaskBits.PopCount(mask));
        var gathered = new float[expected.Count];
        Assert.Equal(expected.Count, MaskBits.Gather(mask, tensor, gathered));
        Assert.Equal(expected, gathered);
    }

    [Fact]
    public void Writer_refuses_values_that_overflow_F16()
    {
        using var temp = new TempDirectory();
        string path = temp.File("task.ken");
        var patch = new PatchedTensor("w", [1], [1], [1e6f], TensorDType.F16, 0);
        var ex = Assert.Throws<KenException>(() => KenDeltaWriter.Write(path, new KenDelta(Metadata(), [patch], [])));
        Assert.Contains("values/w", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public void Fingerprint_is_xxhash64_of_float32_bytes_as_16_hex_digits()
    {
        ulong fingerprint = TensorFingerprint.Compute([1f, 2f]);
        string hex = TensorFingerprint.ToHex(fingerprint);
        Assert.Equal(16, hex.Length);
        Assert.Equal(hex.ToLowerInvariant(), hex);
        Assert.True(TensorFingerprint.TryParseHex(hex, out ulong parsed));
        Assert.Equal(fingerprint, parsed);
        Assert.Equal(System.IO.Hashing.XxHash64.HashToUInt64(new byte[] { 0, 0, 0x80, 0x3F, 0, 0, 0, 0x40 }), fingerprint);
        Assert.False(TensorFingerprint.TryParseHex("123", out _));
    }
}
