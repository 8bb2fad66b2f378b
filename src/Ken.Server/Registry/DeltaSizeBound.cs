namespace Ken.Server.Registry;

/// <summary>
/// The largest .ken file a backbone can need, so an upload header that claims more is refused before a
/// byte is received or stored. A delta patches at most every weight of a slot: F32 values (4 bytes per
/// weight) plus a one-bit mask, under the slot's own F32 bytes; the rest is heads and the safetensors header.
/// </summary>
public static class DeltaSizeBound
{
    /// <summary>Room for classification heads, metadata and the header beyond the patched weights.</summary>
    public const long Headroom = 64L << 20;

    /// <summary>
    /// Twice the slot's weight bytes plus <see cref="Headroom"/>, or null when the backend keeps no slot
    /// weights (<c>--swap-mode resident</c>) and only <c>--max-task-size</c> applies.
    /// </summary>
    public static long? For(long slotBytes) => slotBytes > 0 ? checked((2 * slotBytes) + Headroom) : null;
}
