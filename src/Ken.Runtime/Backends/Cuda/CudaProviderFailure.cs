using System.Text.RegularExpressions;

namespace Ken.Runtime.Backends.Cuda;

/// <summary>
/// Turns ONNX Runtime's failure to start its CUDA provider into one line that names what is missing and
/// what to do (the operator reads it at start-up instead of a stack trace).
/// </summary>
internal static partial class CudaProviderFailure
{
    public const string ProviderLibrary = "libonnxruntime_providers_cuda.so";

    private const string Remedy = "install the CUDA 13 runtime libraries (cuBLAS, cuBLASLt, cuDNN 9, cuFFT, cuRAND, cudart) and put their folders on LD_LIBRARY_PATH (see docs/GPU.md), or run with --device cpu";

    /// <summary>One line for an exception thrown while the CUDA provider was being added or the session created.</summary>
    public static string Describe(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var text = exception.Message;
        if (text.Contains("fallback to CPU EP has been explicitly disabled", StringComparison.OrdinalIgnoreCase)
            || text.Contains("assigned to the default CPU EP", StringComparison.OrdinalIgnoreCase))
        {
            return "the backbone has graph nodes that ONNX Runtime's CUDA provider cannot run, and running them on the CPU is off; pass --allow-cpu-fallback on to allow it, or run with --device cpu";
        }

        if (MissingLibrary().Match(text) is { Success: true } missing)
        {
            var library = missing.Groups["lib"].Value;
            return library.StartsWith("libonnxruntime_providers", StringComparison.Ordinal)
                ? $"ONNX Runtime's CUDA provider library {library} was not found beside the server; publish Ken with the Microsoft.ML.OnnxRuntime.Gpu.Linux native libraries (see docs/GPU.md), or run with --device cpu"
                : $"ONNX Runtime's CUDA provider ({ProviderLibrary}) cannot load: {library} is missing; {Remedy}";
        }

        return $"ONNX Runtime's CUDA provider ({ProviderLibrary}) failed to start: {FirstLine(text)}; {Remedy}";
    }

    private static string FirstLine(string text)
    {
        var line = text.AsSpan().Trim();
        var end = line.IndexOfAny('\r', '\n');
        return (end >= 0 ? line[..end] : line).ToString();
    }

    [GeneratedRegex(@"(?<lib>lib[A-Za-z0-9_+.-]+\.so(\.[0-9]+)*)\s*:\s*cannot open shared object file")]
    private static partial Regex MissingLibrary();
}
