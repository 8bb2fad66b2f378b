namespace Ken.Viz;

/// <summary>
/// One tensor's share of positions reset to the pre-trained value. <see cref="InDelta"/> is false for
/// a base tensor the delta does not patch (identical in both models, or excluded): all of it is reset.
/// </summary>
public sealed record TensorResetStats(string Name, string Layer, long Elements, long Kept, bool InDelta)
{
    public long ResetCount => Elements - Kept;

    /// <summary>Reset positions / all positions, in [0, 1]; 0 for an empty tensor.</summary>
    public double ResetFraction => Elements == 0 ? 0 : (double)ResetCount / Elements;
}
