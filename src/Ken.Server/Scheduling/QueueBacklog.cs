namespace Ken.Server.Scheduling;

/// <summary>
/// The work ahead of a new request, as <see cref="QueueWaitEstimator"/> weighs it: texts waiting in every
/// queue, how many of the queued tasks no weight slot holds (each costs a switch before it runs), how many
/// tasks have work queued or running (counting the new request's), the texts queued for its own task, and
/// the estimated seconds left of the batches and switches the executors are running now (all of them, and
/// the longest of those running for its own task).
/// </summary>
internal readonly record struct QueueBacklog(
    long Texts, int Switches, int Tasks = 1, long OwnTexts = 0, double RunningSeconds = 0, double OwnRunningSeconds = 0);
