namespace Ken.Cuda.Patching;

/// <summary>Tuning knobs of a <see cref="DevicePatcher"/>; the defaults suit a server.</summary>
public sealed class DevicePatcherOptions
{
    /// <summary>Pinned staging memory for uploads and downloads; larger moves take several rounds.</summary>
    public int StagingBytes { get; init; } = 8 << 20;

    /// <summary>Upper bound on blocks per switch (0: one warp per chunk); the kernel strides over the rest.</summary>
    public int MaxBlocks { get; init; }
}
