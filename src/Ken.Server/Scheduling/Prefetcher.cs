using System.Diagnostics;
using Ken.Runtime.Backends;
using Ken.Server.Registry;
using Ken.Server.Telemetry;

namespace Ken.Server.Scheduling;

/// <summary>
/// While every executor is busy, switches an idle slot to the task the policy would swap in next
/// (<see cref="PickPolicy{TTask}.PickPrefetch"/>), so the executor that frees up finds a hit. It leases the
/// slot like an executor does, under the gate and only when free, so it never patches a slot that runs.
/// </summary>
internal sealed class Prefetcher
{
    private readonly IInferenceBackend _backend;
    private readonly SlotSwitcher _switcher;
    private readonly WorkQueues _queues;
    private readonly PickPolicy<TaskEntry> _policy;
    private readonly SlotTenants _tenants;
    private readonly TaskPopularity<TaskEntry> _popularity;
    private readonly int _executors;
    private readonly ILogger _logger;
    private readonly Action _finished;
    private readonly Thread _thread;

    /// <param name="finished">Called under the gate after each prefetch, once the slot's lease is back.</param>
    public Prefetcher(
        IInferenceBackend backend,
        SlotSwitcher switcher,
        WorkQueues queues,
        PickPolicy<TaskEntry> policy,
        SlotTenants tenants,
        TaskPopularity<TaskEntry> popularity,
        int executors,
        ILogger logger,
        Action finished)
    {
        _backend = backend;
        _switcher = switcher;
        _queues = queues;
        _policy = policy;
        _tenants = tenants;
        _popularity = popularity;
        _executors = executors;
        _logger = logger;
        _finished = finished;
        _thread = new Thread(Work) { IsBackground = true, Name = "ken-prefetch" };
    }

    /// <summary>Slots switched ahead of time.</summary>
    public long Prefetches { get; private set; }

    public void Start() => _thread.Start();

    public void Join(TimeSpan timeout)
    {
        if (_thread.IsAlive)
        {
            _thread.Join(timeout);
        }
    }

    private void Work()
    {
        while (true)
        {
            SlotLease lease;
            TaskEntry entry;
            lock (_queues.Gate)
            {
                while (!TryPick(out lease!, out entry!))
                {
                    if (_queues.Closed)
                    {
                        return;
                    }

                    Monitor.Wait(_queues.Gate);
                }
            }

            try
            {
                _switcher.SwapIn(lease, entry, default);
                Prefetches++;
            }
            catch (Exception ex)
            {
                // The executor that serves the task swaps again and reports the failure to the requests.
                _logger.PrefetchFailed(ex, entry.Name, lease.Index);
            }
            finally
            {
                lock (_queues.Gate)
                {
                    lease.Dispose();
                    _finished();
                    Monitor.PulseAll(_queues.Gate);
                }
            }
        }
    }

    /// <summary>Leases an idle slot to switch when every executor runs and the policy names a task. Caller holds the gate.</summary>
    private bool TryPick(out SlotLease? lease, out TaskEntry? entry)
    {
        lease = null;
        entry = null;
        if (_queues.Closed || BusySlots() < _executors)
        {
            return false;
        }

        var waiting = SchedulingViews.Waiting(_queues, _backend.SlotBytes);
        if (waiting.Count == 0)
        {
            return false;
        }

        var now = Stopwatch.GetTimestamp();
        if (_policy.PickPrefetch(SchedulingViews.Slots(_backend.Slots, _tenants, _popularity, now), waiting, now) is not { } pick
            || !_backend.Slots[pick.Slot].TryEnter(out lease))
        {
            return false;
        }

        entry = pick.Task;
        return true;
    }

    /// <summary>Leased slots; while this thread waits, every lease is an executor's.</summary>
    private int BusySlots()
    {
        var busy = 0;
        foreach (var slot in _backend.Slots)
        {
            if (slot.IsBusy)
            {
                busy++;
            }
        }

        return busy;
    }
}
