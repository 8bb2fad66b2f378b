using System.Runtime.InteropServices;
using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Safetensors;
using Ken.TestSupport;

namespace Ken.Format.Tests.Checkpoints;

public class HuggingFaceFolderTests
{
    [Fact]
    public void Single_file_folder_exposes_tensors_and_config()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("config.json"), "{\"model_type\":\"bert\"}");
        SafetensorsFiles.Write(temp.File("model.safetensors"), [Tensor("a.weight", [1f, 2f]), Tensor("b.bias", [3f])]);

        using var folder = HuggingFaceFolder.Open(temp.Path);
        Assert.Equal(["a.weight", "b.bias"], folder.Tensors.Select(t => t.Name));
        Assert.Equal("{\"model_type\":\"bert\"}", folder.ConfigJson);
        var values = new float[2];
        folder.ReadFloat32("a.weight", values);
        Assert.Equal([1f, 2f], values);
    }

    [Fact]
    public void Sharded_folder_reads_through_the_index()
    {
        using var temp = new TempDirectory();
        SafetensorsFiles.Write(temp.File("model-00001-of-00002.safetensors"), [Tensor("a.weight", [1f, 2f])]);
        SafetensorsFiles.Write(temp.File("model-00002-of-00002.safetensors"), [Tensor("b.weight", [3f]), Tensor("c.weight", [4f, 5f, 6f])]);
        File.WriteAllText(
            temp.File("model.safetensors.index.json"),
            """{"metadata":{"total_size":24},"weight_map":{"a.weight":"model-00001-of-00002.safetensors","b.weight":"model-00002-of-00002.safetensors","c.weight":"model-00002-of-00002.safetensors"}}""");

        using var folder = HuggingFaceFolder.Open(temp.Path);
        Assert.Equal(["a.weight", "b.weight", "c.weight"], folder.Tensors.Select(t => t.Name));
        Assert.Equal(2, folder.Files.Count);
        Assert.Null(folder.ConfigJson);
        var values = new float[3];
        folder.ReadFloat32("c.weight", values);
        Assert.Equal([4f, 5f, 6f], values);
        Assert.True(folder.TryGetInfo("b.weight", out var info));
        Assert.Equal([1L], info.Shape);
    }

    [Fact]
    public void Index_naming_a_missing_shard_says_which()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("model.safetensors.index.json"), """{"weight_map":{"a.weight":"model-00001-of-00002.safetensors"}}""");
        var ex = Assert.Throws<KenException>(() => HuggingFaceFolder.Open(temp.Path));
        Assert.Contains("model-00001-of-00002.safetensors", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Index_naming_a_tensor_absent_from_its_shard_names_it()
    {
        using var temp = new TempDirectory();
        SafetensorsFiles.Write(temp.File("model-00001-of-00001.safetensors"), [Tensor("a.weight", [1f])]);
        File.WriteAllText(temp.File("model.safetensors.index.json"), """{"weight_map":{"z.weight":"model-00001-of-00001.safetensors"}}""");
        var ex = Assert.Throws<KenException>(() => HuggingFaceFolder.Open(temp.Path));
        Assert.Contains("'z.weight'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Folder_without_weights_lists_what_it_looked_for()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("config.json"), "{}");
        var ex = Assert.Throws<KenException>(() => HuggingFaceFolder.Open(temp.Path));
        Assert.Contains(temp.Path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("model.safetensors", ex.Message, StringComparison.Ordinal);
        Assert.Contains("model.safetensors.index.json", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_folder_is_reported()
    {
        using var temp = new TempDirectory();
        var ex = Assert.Throws<KenException>(() => HuggingFaceFolder.Open(temp.File("nope")));
        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
    }

    private static (SafetensorsDeclaration, byte[]) Tensor(string name, float[] values) =>
        (new SafetensorsDeclaration(name, TensorDType.F32, [values.Length]), MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
}
