namespace Ken.Server.Scheduling;

/// <summary>
/// The work queued ahead of a new request, as <see cref="QueueWaitEstimator"/> weighs it: texts waiting in
/// every queue, how many of the queued tasks no weight slot holds (each costs a switch before it runs), how
/// many tasks have work queued (counting the new request's), and the texts queued for its own task.
/// </summary>
internal readonly record struct QueueBacklog(long Texts, int Switches, int Tasks = 1, long OwnTexts = 0);
