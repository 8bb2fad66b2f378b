using System.Runtime.InteropServices;

namespace Ken.Cuda.Patching;

/// <summary>The kernel's <c>ken_tensor_desc</c> (Kernels/ken_patch.h): one backbone tensor, 32 bytes.</summary>
[StructLayout(LayoutKind.Sequential, Size = 32)]
internal struct TensorDescriptor
{
    public ulong Pristine;
    public uint Count;
    public uint Words;
    public uint ChunkBegin;
    public uint ChunkCount;
    public ulong Reserved;
}
