namespace Ken.Runtime.Backends;

/// <summary>
/// A backend that keeps task deltas in device memory (the CUDA backend): the server reports the tier's bytes
/// and tells it which tasks are pinned.
/// </summary>
public interface IDeviceDeltaTier
{
    /// <summary>Device bytes of the task deltas resident now.</summary>
    long DeviceDeltaBytes { get; }

    /// <summary>Task deltas resident on the device now.</summary>
    int DeviceDeltaCount { get; }

    /// <summary>Pins or unpins task <paramref name="name"/>: once on the device, a pinned task's delta is not evicted.</summary>
    void PinOnDevice(string name, bool pinned);
}
