namespace Ken.Runtime.Patching;

/// <summary>
/// Writes patch sets into a slot's weight buffers and takes them out again. The CPU patcher works on
/// host buffers; a CUDA one works on device buffers with the same physical patches.
/// </summary>
public interface IWeightPatcher
{
    /// <summary>Writes the kept values of <paramref name="patches"/> into <paramref name="slot"/>; returns how many values it wrote.</summary>
    long Apply(WeightSet slot, PatchSet patches);

    /// <summary>
    /// Copies <paramref name="pristine"/> back over every position <paramref name="patches"/> patched,
    /// leaving <paramref name="slot"/> equal to the base; returns how many values it wrote.
    /// </summary>
    long Restore(WeightSet slot, WeightSet pristine, PatchSet patches);

    /// <summary>
    /// Moves <paramref name="slot"/> from <paramref name="previous"/> to <paramref name="incoming"/> in one pass
    /// per tensor (restore and apply fused), so a task switch streams each buffer once.
    /// </summary>
    /// <returns>Values written for <paramref name="incoming"/>, and old-only positions restored.</returns>
    (long Applied, long Restored) Replace(WeightSet slot, WeightSet pristine, PatchSet previous, PatchSet incoming);
}
