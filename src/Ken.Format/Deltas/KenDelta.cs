namespace Ken.Format.Deltas;

/// <summary>One task's delta: its metadata, the base tensors it patches and the tensors it stores whole.</summary>
public sealed record KenDelta(KenDeltaMetadata Metadata, IReadOnlyList<PatchedTensor> PatchedTensors, IReadOnlyList<HeadTensor> HeadTensors)
{
    public const string MaskPrefix = "mask/";
    public const string ValuesPrefix = "values/";
    public const string HeadPrefix = "head/";
}
