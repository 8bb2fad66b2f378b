namespace Ken.Cuda.Patching;

/// <summary>
/// How a task's kept values are stored on the device, named as in the <c>.ken</c> file's dtypes; the kernel
/// converts them to float32 as it writes.
/// </summary>
public enum PatchValueType
{
    F32 = 0,
    F16 = 1,
    BF16 = 2,
}
