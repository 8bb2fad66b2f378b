using Ken.Runtime.Backends;
using Ken.Server.Registry;

namespace Ken.Server.Scheduling;

/// <summary>Builds what the <see cref="PickPolicy{TTask}"/> sees from the live queues and slots. Callers hold the queues' gate.</summary>
internal static class SchedulingViews
{
    /// <summary>Tasks with unclaimed work; a task whose delta is not bound yet counts as a full switch (<paramref name="unknownSwitchBytes"/>).</summary>
    public static List<QueueView<TaskEntry>> Waiting(WorkQueues queues, long unknownSwitchBytes)
    {
        var waiting = new List<QueueView<TaskEntry>>();
        foreach (var queue in queues.All)
        {
            if (queue.HasFreeWork)
            {
                // Read without the host tier's lock: a stale figure only shifts a priority.
                var switchBytes = queue.Entry.Bound?.SwitchBytes ?? unknownSwitchBytes;
                waiting.Add(new QueueView<TaskEntry>(queue.Entry, queue.Items.Peek().EnqueuedTimestamp, queue.Items.Count, switchBytes));
            }
        }

        return waiting;
    }

    public static SlotView<TaskEntry>[] Slots(IReadOnlyList<WeightSlot> slots, SlotTenants tenants, TaskPopularity<TaskEntry> popularity, long now)
    {
        var views = new SlotView<TaskEntry>[slots.Count];
        for (var i = 0; i < views.Length; i++)
        {
            var slot = slots[i];
            var held = tenants.EntryOf(slot);
            views[i] = new SlotView<TaskEntry>(slot.Index, held, slot.IsBusy, slot.LastUsedTimestamp, popularity.Of(held, now));
        }

        return views;
    }

    public static TaskQueue? QueueOf(WorkQueues queues, TaskEntry entry)
    {
        foreach (var queue in queues.All)
        {
            if (ReferenceEquals(queue.Entry, entry))
            {
                return queue;
            }
        }

        return null;
    }
}
