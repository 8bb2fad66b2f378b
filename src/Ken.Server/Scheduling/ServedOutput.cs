using Ken.Runtime.Tasks;

namespace Ken.Server.Scheduling;

/// <summary>A request's output and how long it waited in its queue before its batch was collected.</summary>
public sealed record ServedOutput(TaskOutput Output, TimeSpan QueueWait);
