namespace Ken.Server.Scheduling;

/// <summary>
/// What the pick policy sees of one task with waiting, unclaimed work: when its oldest request arrived, how
/// many wait, and how many bytes of slot weights a switch to it moves (<see cref="Ken.Runtime.Tasks.BoundTask.SwitchBytes"/>).
/// </summary>
internal readonly record struct QueueView<TTask>(TTask Task, long OldestEnqueued, int Requests, long SwitchBytes = 0)
    where TTask : class;
