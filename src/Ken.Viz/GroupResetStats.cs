namespace Ken.Viz;

/// <summary>Reset share of a group of tensors (a layer, or the whole delta), weighted by element count.</summary>
public sealed record GroupResetStats(string Name, int TensorCount, long Elements, long Kept)
{
    public long ResetCount => Elements - Kept;

    public double ResetFraction => Elements == 0 ? 0 : (double)ResetCount / Elements;
}
