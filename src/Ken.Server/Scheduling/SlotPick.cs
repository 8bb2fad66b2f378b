namespace Ken.Server.Scheduling;

/// <summary>The task a slot serves next, and whether the slot already holds it (a hit, no swap).</summary>
internal readonly record struct SlotPick<TTask>(TTask Task, bool Hit)
    where TTask : class;
