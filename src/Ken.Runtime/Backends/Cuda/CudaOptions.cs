namespace Ken.Runtime.Backends.Cuda;

/// <summary>How <see cref="CudaBackend"/> uses the GPU.</summary>
public sealed record CudaOptions
{
    /// <summary>The CUDA device (<c>--device cuda:N</c>).</summary>
    public int DeviceOrdinal { get; init; }

    /// <summary>Bytes of task deltas kept in device memory (<c>--device-delta-budget</c>).</summary>
    public long DeltaBudgetBytes { get; init; } = 4L << 30;

    /// <summary>TF32 tensor cores for float32 matrix products (<c>--cuda-tf32</c>); off keeps float32 exactness.</summary>
    public bool UseTf32 { get; init; }

    /// <summary>Lets ONNX Runtime run graph nodes the CUDA provider lacks on the CPU (<c>--allow-cpu-fallback</c>).</summary>
    public bool AllowCpuFallback { get; init; }

    /// <summary>Pinned host memory for uploads; larger deltas take several rounds.</summary>
    public int StagingBytes { get; init; } = 8 << 20;
}
