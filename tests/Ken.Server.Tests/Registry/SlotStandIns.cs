using System.Runtime.CompilerServices;
using Ken.Runtime.Tasks;

using Ken.Runtime.Backends;
using Ken.Server.Registry;

namespace Ken.Server.Tests.Registry;

/// <summary>
/// Stands in for the scheduler's weight slots: each keeps a strong reference to the delta it holds,
/// as a real slot does, and swaps the way the slot workers do (hold the new task, then let the old one go).
/// </summary>
/// <remarks>
/// The methods are not inlined, so that no test frame keeps a delta alive in a temporary after a slot
/// let it go (unoptimized code reports such temporaries as live until the method returns).
/// </remarks>
internal sealed class SlotStandIns
{
    private readonly ISlotHoldings _holdings;
    private readonly TaskEntry?[] _entries;
    private readonly BoundTask?[] _bounds;

    public SlotStandIns(ISlotHoldings holdings, int count)
    {
        _holdings = holdings;
        _entries = new TaskEntry?[count];
        _bounds = new BoundTask?[count];
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public void SwapIn(int slot, TaskEntry entry)
    {
        var bound = _holdings.HoldInSlot(entry);
        if (_entries[slot] is { } previous)
        {
            _holdings.ReleaseFromSlot(previous);
        }

        _entries[slot] = entry;
        _bounds[slot] = bound;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public void Empty(int slot)
    {
        if (_entries[slot] is { } previous)
        {
            _holdings.ReleaseFromSlot(previous);
        }

        _entries[slot] = null;
        _bounds[slot] = null;
    }
}
