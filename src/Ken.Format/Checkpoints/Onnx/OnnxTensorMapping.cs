namespace Ken.Format.Checkpoints.Onnx;

/// <summary>
/// How one float initializer of an ONNX model maps to a canonical tensor; the runtime uses it to
/// turn patched canonical weights back into the buffers the graph reads.
/// </summary>
/// <param name="CanonicalName">The Hugging Face name Ken uses (equals <paramref name="OnnxName"/> when unresolved).</param>
/// <param name="OnnxName">The initializer's name in the graph.</param>
/// <param name="Transposed">
/// True when the ONNX tensor is the transpose of the canonical one (a MatMul <c>[in, out]</c> weight,
/// or a Gemm weight without <c>transB</c>).
/// </param>
/// <param name="Info">Name, element type and shape in canonical layout.</param>
/// <param name="OnnxShape">The initializer's shape as stored in the model.</param>
public sealed record OnnxTensorMapping(
    string CanonicalName,
    string OnnxName,
    bool Transposed,
    TensorInfo Info,
    IReadOnlyList<long> OnnxShape);
