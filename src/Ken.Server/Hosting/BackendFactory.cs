using Ken.Pruning;
using Ken.Server.Runtime;

namespace Ken.Server.Hosting;

/// <summary>
/// The one place where the product chooses its <see cref="IInferenceBackend"/> from
/// <c>--swap-mode</c>. Tests bypass it by registering their own backend in DI (see <see cref="KenHost"/>).
/// </summary>
public static class BackendFactory
{
    /// <summary>Creates the backend for <paramref name="options"/>; throws <see cref="KenException"/> when none exists.</summary>
    public static IInferenceBackend Create(KenServerOptions options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);

        // Plug the real runtimes in here, e.g.
        //   SwapMode.Patch => PatchingBackend.Load(options.Model, options.Vocab, options.Slots, options.MaxBatch, loggerFactory),
        // Until then, start-up fails loudly rather than serving made-up outputs.
        return options.SwapMode switch
        {
            SwapMode.Patch or SwapMode.Reload or SwapMode.Resident => throw new KenException(
                $"--swap-mode {options.SwapMode.ToString().ToLowerInvariant()} has no inference backend in this build of Ken.Server, so it cannot serve model '{options.Model}'; " +
                "use a build that includes the ONNX Runtime backend (src/Ken.Server/Runtime)."),
            _ => throw new KenException($"--swap-mode {options.SwapMode} is unknown; choose patch, reload or resident."),
        };
    }
}
