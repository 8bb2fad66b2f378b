using Ken.Format.Checkpoints;

namespace Ken.Format.Tests.Checkpoints;

public class CheckpointNameMatcherTests
{
    private static readonly string[] Encoder =
    [
        "embeddings.word_embeddings.weight",
        "embeddings.LayerNorm.weight",
        "encoder.layer.0.attention.self.query.weight",
        "encoder.layer.0.attention.self.query.bias",
    ];

    [Fact]
    public void Identical_names_pair_directly()
    {
        var match = CheckpointNameMatcher.Match(Encoder, Encoder, "base", "tuned");

        Assert.Equal(Encoder, match.Pairs.Select(p => p.BaseName));
        Assert.Equal(Encoder, match.Pairs.Select(p => p.FineTunedName));
        Assert.Empty(match.HeadTensors);
        Assert.Empty(match.BaseOnlyTensors);
        Assert.Null(match.FineTunedPrefix);
        Assert.Null(match.BasePrefix);
    }

    [Fact]
    public void Architecture_prefix_of_a_classifier_is_stripped_and_the_rest_is_head()
    {
        string[] tuned =
        [
            .. Encoder.Select(n => "bert." + n),
            "bert.pooler.dense.weight",
            "classifier.weight",
            "classifier.bias",
        ];

        var match = CheckpointNameMatcher.Match(new FakeCheckpoint("base", Encoder), new FakeCheckpoint("tuned", tuned));

        Assert.Equal("bert.", match.FineTunedPrefix);
        Assert.Equal(Encoder, match.Pairs.Select(p => p.BaseName));
        Assert.Equal(Encoder.Select(n => "bert." + n), match.Pairs.Select(p => p.FineTunedName));
        Assert.Equal(["bert.pooler.dense.weight", "classifier.weight", "classifier.bias"], match.HeadTensors);
        Assert.Empty(match.BaseOnlyTensors);
    }

    [Fact]
    public void Prefixed_base_meets_an_unprefixed_fine_tuned_model()
    {
        string[] baseNames = [.. Encoder.Select(n => "bert." + n), "cls.predictions.bias"];

        var match = CheckpointNameMatcher.Match(baseNames, Encoder, "base", "tuned");

        Assert.Equal("bert.", match.BasePrefix);
        Assert.Equal(Encoder, match.Pairs.Select(p => p.FineTunedName));
        Assert.Equal(["cls.predictions.bias"], match.BaseOnlyTensors);
        Assert.Empty(match.HeadTensors);
    }

    [Fact]
    public void Base_tensors_missing_from_the_fine_tuned_model_are_listed()
    {
        string[] tuned = [.. Encoder.Skip(1).Select(n => "roberta." + n)];

        var match = CheckpointNameMatcher.Match(Encoder, tuned, "base", "tuned");

        Assert.Equal("roberta.", match.FineTunedPrefix);
        Assert.Equal([Encoder[0]], match.BaseOnlyTensors);
        Assert.Equal(3, match.Pairs.Count);
    }

    [Fact]
    public void No_names_in_common_is_an_error_that_names_both_sides()
    {
        string[] tuned = ["transformer.h.0.attn.c_attn.weight", "lm_head.weight"];

        var error = Assert.Throws<KenException>(() => CheckpointNameMatcher.Match(Encoder, tuned, "minilm", "gpt2.safetensors"));

        Assert.Contains("no tensor names in common between base minilm and fine-tuned gpt2.safetensors", error.Message, StringComparison.Ordinal);
        Assert.Contains("same architecture", error.Message, StringComparison.Ordinal);
    }

    private sealed class FakeCheckpoint(string source, string[] names) : ICheckpoint
    {
        public string Source => source;

        public IReadOnlyList<TensorInfo> Tensors { get; } =
            [.. names.Select(n => new TensorInfo(n, TensorDType.F32, [1]))];

        public string? ConfigJson => null;

        public bool TryGetInfo(string name, out TensorInfo info)
        {
            info = Tensors.FirstOrDefault(t => t.Name == name)!;
            return info is not null;
        }

        public void ReadFloat32(string name, Span<float> destination) => destination.Clear();

        public void Dispose()
        {
        }
    }
}
