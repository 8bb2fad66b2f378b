namespace Ken.Format.Checkpoints.Safetensors;

/// <summary>The element types the safetensors format defines, with their sizes in bytes.</summary>
public static class SafetensorsDTypes
{
    /// <summary>
    /// Bytes per element of a safetensors dtype string, or 0 when the dtype is unknown (sub-byte
    /// types such as F4 are left out: their byte size is not element count × size).
    /// </summary>
    public static int SizeOf(string dtype) => dtype switch
    {
        "BOOL" or "U8" or "I8" or "F8_E5M2" or "F8_E4M3" or "F8_E8M0" => 1,
        "I16" or "U16" or "F16" or "BF16" => 2,
        "I32" or "U32" or "F32" => 4,
        "I64" or "U64" or "F64" or "C64" => 8,
        _ => 0,
    };

    public static bool IsKnown(string dtype) => SizeOf(dtype) != 0;
}
