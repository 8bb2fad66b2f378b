using Ken.Cuda.Driver;
using Ken.Format;
using Ken.Format.Checkpoints;
using Ken.Runtime.Backbone;
using Ken.Runtime.Backends;
using Ken.Runtime.Backends.Cuda;
using Ken.Server.Telemetry;

namespace Ken.Server.Hosting;

/// <summary>
/// The one place where the product chooses its <see cref="IInferenceBackend"/> from
/// <c>--device</c> and <c>--swap-mode</c>. Tests bypass it by registering their own backend in DI (see <see cref="KenHost"/>).
/// </summary>
public static class BackendFactory
{
    /// <summary>Creates the backend for <paramref name="options"/>; throws <see cref="KenException"/> when none exists.</summary>
    public static IInferenceBackend Create(KenServerOptions options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var logger = loggerFactory.CreateLogger(typeof(BackendFactory));
        if (options.Device.IsCuda)
        {
            return Load(options, logger, LoadCuda(options));
        }

        return options.SwapMode switch
        {
            SwapMode.Patch => Load(options, logger, PatchingBackend.Load),
            SwapMode.Reload => Load(options, logger, ReloadBackend.Load),
            SwapMode.Resident => Load(options, logger, ResidentBackend.Load),
            _ => throw new KenException($"--swap-mode {options.SwapMode} is unknown; choose patch, reload or resident."),
        };
    }

    /// <summary>The backbone's model and vocabulary (see <see cref="BackboneModel"/>) with the server's slot and batch settings.</summary>
    public static BackboneOptions ResolveBackbone(KenServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return BackboneModel.Resolve(options.Model, options.Vocab) with
        {
            // An explicit --slots wins; otherwise --slot-memory sizes the slots that hold weights, and the
            // resident mode's slots (bindings only) get one per executor.
            Slots = options.Slots ?? options.Executors,
            SlotMemory = options.Slots is null ? options.SlotMemory : null,
            MaxBatchSize = options.MaxBatch,
            // Executors beyond an explicit slot count never run, so they take no share of the cores.
            IntraOpThreads = KenServerOptions.IntraOpThreadsFor(Math.Min(options.Executors, options.Slots ?? options.Executors), Environment.ProcessorCount),
        };
    }

    /// <summary>The CUDA settings of <paramref name="options"/>.</summary>
    public static CudaOptions CudaOptionsOf(KenServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new CudaOptions
        {
            DeviceOrdinal = options.Device.Ordinal,
            DeltaBudgetBytes = options.DeviceDeltaBudget,
            UseTf32 = options.CudaTf32,
            AllowCpuFallback = options.AllowCpuFallback,
        };
    }

    private static Func<BackboneOptions, IInferenceBackend> LoadCuda(KenServerOptions options) => backbone =>
    {
        try
        {
            return CudaBackend.Load(backbone, CudaOptionsOf(options));
        }
        catch (CudaUnavailableException ex)
        {
            // One line for the operator (what is missing, what to do); Program prints it and exits with code 2.
            throw new KenException($"--device {options.Device}: {ex.Message}", ex);
        }
    };

    private static IInferenceBackend Load(KenServerOptions options, ILogger logger, Func<BackboneOptions, IInferenceBackend> load)
    {
        var backbone = ResolveBackbone(options);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var backend = load(backbone);
        var executors = Math.Min(options.Executors, backend.SlotCount);
        logger.BackboneLoaded(
            backbone.Name ?? backbone.ModelPath,
            started.Elapsed.TotalSeconds,
            options.SwapMode,
            options.Device,
            backend.SlotCount,
            backend.SlotBytes / (1024.0 * 1024.0),
            executors,
            backbone.IntraOpThreads,
            backend.MaxBatchSize);
        return backend;
    }
}
