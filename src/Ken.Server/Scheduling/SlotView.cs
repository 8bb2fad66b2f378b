namespace Ken.Server.Scheduling;

/// <summary>
/// What the pick policy sees of one weight slot: the task it holds, whether it is leased, when it was last
/// used, and how popular its task is now (a <see cref="DecayedCount"/>; 0 for the base).
/// </summary>
internal readonly record struct SlotView<TTask>(int Index, TTask? Held, bool Busy, long LastUsed, double Popularity = 0)
    where TTask : class;
