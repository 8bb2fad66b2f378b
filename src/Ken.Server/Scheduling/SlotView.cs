namespace Ken.Server.Scheduling;

/// <summary>What the pick policy sees of one weight slot: the task it holds, whether it is leased, when it was last used.</summary>
internal readonly record struct SlotView<TTask>(int Index, TTask? Held, bool Busy, long LastUsed)
    where TTask : class;
