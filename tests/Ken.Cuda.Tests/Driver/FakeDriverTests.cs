namespace Ken.Cuda.Tests.Driver;

/// <summary>Tests that drive the one fake driver of the process run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FakeDriverTests
{
    public const string Name = "fake CUDA driver";
}
