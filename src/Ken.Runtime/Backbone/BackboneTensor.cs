using Ken.Format.Checkpoints.Onnx;

namespace Ken.Runtime.Backbone;

/// <summary>One weight the backbone binds as a graph input, with its canonical base fingerprint.</summary>
internal sealed record BackboneTensor(int Index, OnnxTensorMapping Mapping, ulong Fingerprint)
{
    public string Name => Mapping.CanonicalName;

    public int ElementCount => (int)Mapping.Info.ElementCount;
}
