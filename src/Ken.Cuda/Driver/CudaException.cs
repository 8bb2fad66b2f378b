namespace Ken.Cuda.Driver;

/// <summary>
/// A CUDA driver call failed. <see cref="ResultName"/> is the driver's name for the <c>CUresult</c>
/// (for example <c>CUDA_ERROR_OUT_OF_MEMORY</c>), so logs and tests can match it.
/// </summary>
public sealed class CudaException : Exception
{
    public CudaException()
        : this("CUDA call failed")
    {
    }

    public CudaException(string message)
        : base(message)
    {
        Call = string.Empty;
        ResultName = string.Empty;
    }

    public CudaException(string message, Exception innerException)
        : base(message, innerException)
    {
        Call = string.Empty;
        ResultName = string.Empty;
    }

    public CudaException(string call, int result, string resultName, string description)
        : base(string.IsNullOrEmpty(description) ? $"{call} failed: {resultName}" : $"{call} failed: {resultName} ({description})")
    {
        Call = call;
        Result = result;
        ResultName = resultName;
    }

    /// <summary>The driver function that failed, e.g. <c>cuLaunchKernel</c>.</summary>
    public string Call { get; }

    /// <summary>The numeric <c>CUresult</c>.</summary>
    public int Result { get; }

    /// <summary>The <c>CUresult</c>'s name from <c>cuGetErrorName</c>.</summary>
    public string ResultName { get; }
}
