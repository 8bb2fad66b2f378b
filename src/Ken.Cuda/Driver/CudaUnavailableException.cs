namespace Ken.Cuda.Driver;

/// <summary>
/// CUDA cannot be used here: the driver library, one of its entry points, or a device is missing. The
/// message is one line that names what is missing and what to do (install the driver, or run on the CPU).
/// </summary>
public sealed class CudaUnavailableException : Exception
{
    public CudaUnavailableException()
        : this("CUDA is not available: install the NVIDIA driver or run with --device cpu")
    {
    }

    public CudaUnavailableException(string message)
        : base(message)
    {
    }

    public CudaUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
