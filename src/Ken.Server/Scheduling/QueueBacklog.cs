namespace Ken.Server.Scheduling;

/// <summary>
/// The work queued ahead of a new request, as <see cref="QueueWaitEstimator"/> weighs it: texts waiting in
/// every queue, and how many of the queued tasks no weight slot holds (each costs a switch before it runs).
/// </summary>
internal readonly record struct QueueBacklog(long Texts, int Switches);
