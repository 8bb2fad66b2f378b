using System.Runtime.InteropServices;

namespace Ken.Cuda.Patching;

/// <summary>The kernel's <c>ken_task_desc</c> (Kernels/ken_patch.h): one tensor of a bound task, 32 bytes.</summary>
[StructLayout(LayoutKind.Sequential, Size = 32)]
internal struct TaskDescriptor
{
    /// <summary>Mask words; 0 when the task leaves the tensor alone.</summary>
    public ulong Mask;
    public ulong Offsets;
    public ulong Values;
    public uint ValueType;
    public uint ValueCount;
}
