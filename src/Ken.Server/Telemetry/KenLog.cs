using Ken.Server.Hosting;

namespace Ken.Server.Telemetry;

/// <summary>
/// Every log line of the server, source-generated (no boxing or formatting when the level is off),
/// each with a stable event id by area: 1xxx hosting and security, 2xxx API, 3xxx registry,
/// 4xxx scheduling, 5xxx backend. A new line takes the next id of its area; ids are never reused.
/// </summary>
internal static partial class KenLog
{
    // 1xxx hosting and security

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Backbone checked on {Slots} slots in {Ms:F0} ms")]
    public static partial void BackboneChecked(this ILogger logger, int slots, double ms);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Ken server ready: model {Model}, swap mode {Mode}, {Slots} slots, {Tasks} tasks, data dir {DataDir}")]
    public static partial void ServerReady(this ILogger logger, string model, string mode, int slots, int tasks, string dataDir);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Shutting down: no longer admitting requests, draining {Queued} queued")]
    public static partial void ShuttingDown(this ILogger logger, int queued);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Drained; stopped")]
    public static partial void Stopped(this ILogger logger);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "Registry calls need the configured admin token (--admin-token)")]
    public static partial void AdminTokenConfigured(this ILogger logger);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Information, Message = "Registry calls need the admin token in {Path}")]
    public static partial void AdminTokenFromFile(this ILogger logger, string path);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Information, Message = "Created an admin token for registry calls in {Path} (mode 0600); the ken CLI reads it for local servers")]
    public static partial void AdminTokenCreated(this ILogger logger, string path);

    // 2xxx API

    [LoggerMessage(EventId = 2001, Level = LogLevel.Error, Message = "Unexpected error in {Method}")]
    public static partial void UnexpectedError(this ILogger logger, Exception exception, string method);

    // 3xxx registry

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Loaded task {Task} ({Kind}, {Bytes} bytes) from {Path}")]
    public static partial void TaskLoaded(this ILogger logger, string task, string kind, long bytes, string path);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Registry at {Folder}: {Count} tasks")]
    public static partial void RegistryLoaded(this ILogger logger, string folder, int count);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Registered task {Task} ({Kind}, {Bytes} bytes, pinned {Pinned}, replaced {Replaced})")]
    public static partial void TaskRegistered(this ILogger logger, string task, string kind, long bytes, bool pinned, bool replaced);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Unregistered task {Task}")]
    public static partial void TaskUnregistered(this ILogger logger, string task);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Error, Message = "Quarantined {Path} to {Target}: {Reason}. Fix or rebuild the file and register it again.")]
    public static partial void TaskQuarantined(this ILogger logger, string path, string target, string reason);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Error, Message = "Could not load {Path} ({Reason}) nor move it to {Quarantine} ({Error}); it is skipped. Remove it by hand.")]
    public static partial void QuarantineFailed(this ILogger logger, string path, string reason, string quarantine, string error);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Debug, Message = "Evicted task {Task} from host memory (budget {Budget} bytes)")]
    public static partial void TaskEvicted(this ILogger logger, string task, long budget);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Information, Message = "Loaded task {Task} ({Kind}, {Bytes} bytes) from the shared registry in {Ms:F0} ms, published by another replica (replaced {Replaced})")]
    public static partial void SharedTaskLoaded(this ILogger logger, string task, string kind, long bytes, double ms, bool replaced);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Information, Message = "Task {Task} is no longer in the shared registry (unregistered through another replica); requests for it get NOT_FOUND")]
    public static partial void SharedTaskRemoved(this ILogger logger, string task);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Error, Message = "Could not load {Path} from the shared registry: {Reason}. It stays there (other replicas may serve it); check that every replica runs the same model, or register the task again.")]
    public static partial void SharedTaskSkipped(this ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Information, Message = "Following the shared registry {Folder}: listed every {PollMs} ms, file-system notifications {Notifications}")]
    public static partial void StoreWatchStarted(this ILogger logger, string folder, int pollMs, bool notifications);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Warning, Message = "No file-system notifications for {Folder} ({Error}); changes are found by listing it every {PollMs} ms")]
    public static partial void StoreNotificationsUnavailable(this ILogger logger, string folder, string error, int pollMs);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Warning, Message = "Listing the shared registry {Folder} failed ({Error}); retrying at the next poll")]
    public static partial void StoreSyncFailed(this ILogger logger, string folder, string error);

    // 4xxx scheduling

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Shutdown timeout: {Queued} queued requests did not finish")]
    public static partial void ShutdownTimedOut(this ILogger logger, int queued);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Error, Message = "Slot {Slot} failed serving task {Task}")]
    public static partial void SlotFailed(this ILogger logger, Exception exception, int slot, string task);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Debug, Message = "Slot {Slot} swapped to {Task} in {Ms:F2} ms")]
    public static partial void SlotSwapped(this ILogger logger, int slot, string task, double ms);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "Prefetching task {Task} into slot {Slot} failed")]
    public static partial void PrefetchFailed(this ILogger logger, Exception exception, string task, int slot);

    // 5xxx backend

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Backbone {Model} loaded in {Seconds:F1} s ({Mode} mode on {Device}): {Slots} slots of {SlotMiB:F0} MiB, {Executors} executors of {Threads} threads, max batch {MaxBatch}")]
    public static partial void BackboneLoaded(this ILogger logger, string model, double seconds, SwapMode mode, ComputeDevice device, int slots, double slotMiB, int executors, int? threads, int maxBatch);
}
