using System.Globalization;
using Microsoft.ML.OnnxRuntime;

namespace Ken.Runtime.Backends.Cuda;

/// <summary>
/// Puts ONNX Runtime's CUDA execution provider on a session: the device, the compute stream Ken's patch
/// kernel also uses (so a switch and a run are ordered on the device with no host synchronization), TF32,
/// and no silent fallback of graph nodes to the CPU.
/// </summary>
internal static class CudaSessionSetup
{
    public const string DisableCpuFallbackKey = "session.disable_cpu_ep_fallback";

    /// <summary>The CUDA provider options as ONNX Runtime's string map takes them.</summary>
    public static Dictionary<string, string> ProviderOptions(CudaOptions options, nint stream) => new(StringComparer.Ordinal)
    {
        ["device_id"] = options.DeviceOrdinal.ToString(CultureInfo.InvariantCulture),
        ["has_user_compute_stream"] = "1",
        ["user_compute_stream"] = ((long)stream).ToString(CultureInfo.InvariantCulture),
        ["use_tf32"] = options.UseTf32 ? "1" : "0",
    };

    /// <summary>Appends the CUDA provider to <paramref name="session"/>; ONNX Runtime loads its provider library here.</summary>
    public static void Apply(SessionOptions session, CudaOptions options, nint stream)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(options);
        using var provider = new OrtCUDAProviderOptions();
        provider.UpdateOptions(ProviderOptions(options, stream));
        session.AppendExecutionProvider_CUDA(provider);
        session.AddSessionConfigEntry(DisableCpuFallbackKey, options.AllowCpuFallback ? "0" : "1");
    }
}
