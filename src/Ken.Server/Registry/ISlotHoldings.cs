using Ken.Runtime.Backends;
using Ken.Runtime.Tasks;

namespace Ken.Server.Registry;

/// <summary>
/// How the slot workers tell the registry which task deltas the weight slots hold. A slot keeps its
/// delta alive whatever the registry does, so the host tier never evicts a held delta (the next bind
/// would make a second copy) and counts it as resident until the last slot lets it go.
/// </summary>
public interface ISlotHoldings
{
    /// <summary>
    /// The delta to swap into a slot, read and bound again if it was evicted; it counts as held by one
    /// more slot until <see cref="ReleaseFromSlot"/>.
    /// </summary>
    BoundTask HoldInSlot(TaskEntry entry);

    /// <summary>One slot no longer holds <paramref name="entry"/>'s delta: it swapped it out or failed to swap it in.</summary>
    void ReleaseFromSlot(TaskEntry entry);
}
