using Ken.Format.Checkpoints;

namespace Ken.Format.Tests.Checkpoints;

public class TrainingLengthTests
{
    [Theory]
    [InlineData("{\"max_length\": 64, \"hidden_size\": 384}", 64)]
    [InlineData("{\"hidden_size\": 384}", null)]
    [InlineData("{\"max_length\": 0}", null)]
    [InlineData("{\"max_length\": \"64\"}", null)]
    [InlineData("[64]", null)]
    [InlineData("not json", null)]
    [InlineData(null, null)]
    public void Is_the_config_s_positive_max_length_or_nothing(string? config, int? expected) =>
        Assert.Equal(expected, TrainingLength.Of(config));
}
