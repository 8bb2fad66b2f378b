namespace Ken.Format.Checkpoints;

/// <summary>Floating-point element types Ken reads and writes (safetensors spelling in comments).</summary>
public enum TensorDType
{
    /// <summary>IEEE float32, safetensors "F32".</summary>
    F32,

    /// <summary>IEEE float16, safetensors "F16".</summary>
    F16,

    /// <summary>bfloat16, safetensors "BF16".</summary>
    BF16,
}
