namespace Ken.Server.Scheduling;

/// <summary>What the pick policy sees of one task with waiting, unclaimed work: when its oldest request arrived and how many wait.</summary>
internal readonly record struct QueueView<TTask>(TTask Task, long OldestEnqueued, int Requests)
    where TTask : class;
