using System.Runtime.InteropServices;

namespace Ken.Runtime.Tests.Backends.Cuda;

/// <summary>
/// Tests that bind a CUDA driver (the fake libcuda.so.1, or a real one) run one at a time: a process binds
/// one driver. On a machine with a real driver the fake-driver tests skip and the GPU tests run.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CudaDriverGroup
{
    public const string Name = "CUDA driver";

    /// <summary>True when this machine has a real NVIDIA driver library.</summary>
    public static bool HasRealDriver { get; } = NativeLibrary.TryLoad("libcuda.so.1", out _);
}
