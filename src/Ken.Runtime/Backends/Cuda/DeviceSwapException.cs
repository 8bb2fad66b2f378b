namespace Ken.Runtime.Backends.Cuda;

/// <summary>
/// A task switch on the GPU failed (the delta's upload or the patch launch). The slot is back on the base
/// weights (the message says so); the request was not wrong, so the server maps this to RESOURCE_EXHAUSTED
/// when device memory ran out and to UNAVAILABLE otherwise, never to a client error.
/// </summary>
public sealed class DeviceSwapException : Exception
{
    public DeviceSwapException()
        : this("a task switch on the GPU failed")
    {
    }

    public DeviceSwapException(string message)
        : base(message)
    {
    }

    public DeviceSwapException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public DeviceSwapException(string message, bool outOfMemory, Exception innerException)
        : base(message, innerException)
    {
        OutOfMemory = outOfMemory;
    }

    /// <summary>True when device memory ran out even after every idle delta was evicted.</summary>
    public bool OutOfMemory { get; }
}
