using System.Diagnostics;
using Ken.Runtime.Backends;
using Ken.Runtime.Tasks;
using Ken.Server.Registry;
using Ken.Server.Telemetry;

namespace Ken.Server.Scheduling;

/// <summary>
/// Switches a leased slot to a task entry: holds the entry in the registry so nothing evicts it meanwhile,
/// swaps through the backend, settles the registry's slot holds, and records the swap's metric and span.
/// Used by executors (a miss) and by the prefetcher (an idle slot switching ahead).
/// </summary>
internal sealed class SlotSwitcher
{
    private readonly IInferenceBackend _backend;
    private readonly TaskRegistry _registry;
    private readonly SlotTenants _tenants;
    private readonly KenMetrics _metrics;
    private readonly ILogger _logger;

    public SlotSwitcher(IInferenceBackend backend, TaskRegistry registry, SlotTenants tenants, KenMetrics metrics, ILogger logger)
    {
        _backend = backend;
        _registry = registry;
        _tenants = tenants;
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>Makes the leased slot hold <paramref name="entry"/>'s bound task and returns it.</summary>
    public BoundTask SwapIn(SlotLease lease, TaskEntry entry, ActivityContext parent)
    {
        var slot = lease.Slot;
        var before = _tenants.EntryOf(slot);
        using var activity = KenTelemetry.ActivitySource.StartActivity("ken.swap", ActivityKind.Internal, parent);
        activity?.SetTag("ken.task", entry.Name);
        activity?.SetTag("ken.slot", slot.Index);
        activity?.SetTag("ken.evicted", before?.Name);

        var bound = _registry.HoldInSlot(entry);
        _tenants.Remember(bound, entry);
        var started = Stopwatch.GetTimestamp();
        SwapStats stats;
        try
        {
            stats = _backend.Swap(lease, bound);
        }
        finally
        {
            // Also after a failed swap: the slot record says what the slot holds now (its old task or the base).
            SlotTenants.Settle(_registry, before, entry, _tenants.EntryOf(slot));
        }

        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        entry.CountSwap();
        _metrics.Swap(entry.Name, seconds);
        activity?.SetTag("ken.values_restored", stats.ValuesRestored);
        activity?.SetTag("ken.values_applied", stats.ValuesApplied);
        _logger.SlotSwapped(slot.Index, entry.Name, seconds * 1000);
        return bound;
    }
}
