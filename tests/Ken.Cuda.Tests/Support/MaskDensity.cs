namespace Ken.Cuda.Tests.Support;

/// <summary>How many bits of a random mask are set.</summary>
public enum MaskDensity
{
    Empty,
    OneBit,
    Sparse,
    Half,
    Full,
}
