namespace Ken.Server.Scheduling;

/// <summary>What a free executor serves next: a task, the slot it runs on, and whether that slot already holds it (a hit, no swap).</summary>
internal readonly record struct SlotPick<TTask>(int Slot, TTask Task, bool Hit)
    where TTask : class;
