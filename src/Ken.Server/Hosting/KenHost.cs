using Grpc.AspNetCore.Server;
using Ken.Runtime.Backends;

using Ken.Server.Api;
using Ken.Server.Api.Validation;
using Ken.Server.Registry;
using Ken.Server.Scheduling;
using Ken.Server.Security;
using Ken.Server.Telemetry;

using Microsoft.AspNetCore.Server.Kestrel.Core;

using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Ken.Server.Hosting;

/// <summary>Builds the server: configuration, services, gRPC endpoints, telemetry.</summary>
public static class KenHost
{
    /// <summary>
    /// Builds the web application from <paramref name="args"/>. <paramref name="configureServices"/>
    /// runs last; registering an <see cref="IInferenceBackend"/> there replaces <see cref="BackendFactory"/>.
    /// Throws <see cref="Ken.Format.KenException"/> for invalid options.
    /// </summary>
    public static WebApplication Build(string[] args, Action<IServiceCollection>? configureServices = null)
    {
        ConfigurationGuard.CheckArguments(args);
        ConfigurationGuard.CheckEnvironment(Environment.GetEnvironmentVariables());
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args });

        // Precedence, lowest first: appsettings.json, KEN_* variables, flags.
        builder.Configuration.AddInMemoryCollection(OptionSources.FromEnvironment(Environment.GetEnvironmentVariables()));
        builder.Configuration.AddCommandLine(args, OptionSources.SwitchMappings());
        ConfigurationGuard.CheckSection(builder.Configuration);
        var options = KenServerOptions.Load(builder.Configuration);
        Directory.CreateDirectory(options.DataDir);

        var tls = options.TlsCert is { } certPath && options.TlsKey is { } keyPath ? TlsCertificate.Load(certPath, keyPath) : null;
        builder.Configuration.AddInMemoryCollection(KestrelEndpoints(builder.Configuration["urls"], options.MetricsUrls, tls is not null));

        // The endpoints above replace --urls; clearing it keeps Kestrel from warning that it was overridden.
        builder.WebHost.UseUrls();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Uploads are bounded by --max-task-size and messages by --max-message-size instead.
            kestrel.Limits.MaxRequestBodySize = null;
            if (tls is not null)
            {
                // The https:// gRPC endpoints take the --tls-cert certificate.
                kestrel.ConfigureHttpsDefaults(https => https.ServerCertificate = tls);
            }
        });
        builder.Host.ConfigureHostOptions(host => host.ShutdownTimeout = TimeSpan.FromSeconds(options.ShutdownTimeoutSeconds + 5));

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton<ServingState>();
        services.AddSingleton(new RegistryOptions
        {
            TasksDir = options.TasksDir,
            QuarantineDir = options.QuarantineDir,
            HostDeltaBudget = options.HostDeltaBudget,
            KeepEveryTask = options.SwapMode == SwapMode.Resident,
            MaxTaskBytes = options.MaxTaskBytes,
            Shared = options.RegistryDir is not null,
            PollInterval = TimeSpan.FromMilliseconds(options.RegistryPollMs),
        });
        services.AddSingleton<TaskRegistry>();
        services.AddSingleton(new SchedulerOptions { MaxQueue = options.MaxQueue, MaxQueueWait = TimeSpan.FromMilliseconds(options.MaxQueueWaitMs), Executors = options.Executors, Prefetch = options.Prefetch });
        services.AddSingleton(new BatchingOptions
        {
            MaxTexts = options.MaxBatch,
            MaxTokens = options.MaxBatchTokens,
            Window = TimeSpan.FromMilliseconds(options.BatchWindowMs),
        });
        services.AddSingleton<SlotScheduler>();
        services.AddSingleton<KenMetrics>();
        services.AddSingleton<InferenceRequestValidator>();
        services.AddSingleton(sp => AdminToken.Resolve(options, sp.GetRequiredService<ILoggerFactory>().CreateLogger<AdminToken>()));
        services.AddSingleton(new UploadSlots(options.MaxConcurrentUploads));
        var tenants = options.TenantTokens is { } tenantFile ? TenantTokens.Load(tenantFile) : null;
        if (tenants is not null)
        {
            services.AddSingleton(tenants);
        }
        services.AddHostedService<KenHostedService>();
        if (options.RegistryDir is not null)
        {
            // After KenHostedService, which loads the registry first.
            services.AddSingleton<StoreWatcher>();
            services.AddHostedService(sp => sp.GetRequiredService<StoreWatcher>());
        }

        services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = options.MaxMessageBytes;
            grpc.MaxSendMessageSize = null;
            grpc.EnableDetailedErrors = false;
            // First added runs outermost: telemetry sees the status the error mapping produced, and the
            // mapping also covers the admin token check.
            grpc.Interceptors.Add<RequestTelemetryInterceptor>();
            grpc.Interceptors.Add<ErrorMappingInterceptor>();
            grpc.Interceptors.Add<AdminTokenInterceptor>();
            if (tenants is not null)
            {
                grpc.Interceptors.Add<TenantTokenInterceptor>();
            }
        });
        services.AddGrpcReflection();
        services.AddGrpcHealthChecks().AddCheck<ServingHealthCheck>("ken");

        var otel = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("ken-server"))
            .WithMetrics(metrics => metrics
                .AddMeter(KenTelemetry.Name)
                .AddAspNetCoreInstrumentation()
                // No scrape cache: the exporter's default serves a scrape up to 300 ms old, so a reader that
                // scrapes before and right after a short run (ken bench) saw no change at all.
                .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0))
            .WithTracing(tracing => tracing
                .AddSource(KenTelemetry.Name)
                .AddAspNetCoreInstrumentation());
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT")))
        {
            // Metrics, traces and logs to the collector the standard OTEL_* variables describe.
            otel.UseOtlpExporter();
        }

        configureServices?.Invoke(services);
        if (!services.Any(d => d.ServiceType == typeof(IInferenceBackend)))
        {
            services.AddSingleton(sp => BackendFactory.Create(options, sp.GetRequiredService<ILoggerFactory>()));
        }

        var app = builder.Build();

        // Resolve eagerly: a missing backend or token problem fails start-up, not the first request.
        _ = app.Services.GetRequiredService<AdminToken>();
        var startLog = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(KenHost).FullName!);
        if (tenants is not null)
        {
            startLog.TenantTokensLoaded(options.TenantTokens!, tenants.Count);
        }

        if (tls is not null)
        {
            startLog.TlsEnabled(tls.Subject, tls.NotAfter);
        }
        var metrics = app.Services.GetRequiredService<KenMetrics>();
        var registry = app.Services.GetRequiredService<TaskRegistry>();
        var scheduler = app.Services.GetRequiredService<SlotScheduler>();
        metrics.ObserveTiers(
            () => TierCounts(registry),
            () => TierBytes(registry, scheduler, app.Services.GetRequiredService<IInferenceBackend>()));
        metrics.ObserveTaskResidency(() => TaskResidency(registry));

        app.MapGrpcService<InferenceService>();
        app.MapGrpcService<RegistryService>();
        app.MapGrpcHealthChecksService();
        // The same health as plain HTTP (200 Healthy / 503 Unhealthy) for proxies and probes that cannot speak gRPC
        // health, e.g. HAProxy's HTTP/1.1 checks on the metrics port (deploy/haproxy/haproxy.cfg).
        app.MapHealthChecks("/healthz");
        app.MapGrpcReflectionService();
        app.MapPrometheusScrapingEndpoint();
        app.MapGet("/", () => "Ken server: gRPC services ken.v1.Inference and ken.v1.Registry; metrics at /metrics.");
        return app;
    }

    /// <summary>
    /// gRPC endpoints speak HTTP/2 only: over cleartext Kestrel cannot offer HTTP/1.1 and HTTP/2 on
    /// one port (it answers an HTTP/2 preface with HTTP_1_1_REQUIRED), and Prometheus scrapes over
    /// HTTP/1.1, so /metrics gets its own endpoint. Endpoint names sort gRPC first, metrics last.
    /// </summary>
    private static Dictionary<string, string?> KestrelEndpoints(string? urls, string metricsUrls, bool tls)
    {
        var endpoints = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var i = 0;
        var fallback = tls ? KenServerOptions.DefaultTlsUrls : KenServerOptions.DefaultUrls;
        foreach (var url in (string.IsNullOrWhiteSpace(urls) ? fallback : urls).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (tls && !url.StartsWith("https:", StringComparison.OrdinalIgnoreCase))
            {
                throw new Ken.Format.KenException($"--urls {url} is cleartext, but --tls-cert is set; use https:// addresses (e.g. {KenServerOptions.DefaultTlsUrls}) so every gRPC endpoint uses TLS.");
            }

            var name = "Kestrel:Endpoints:Grpc" + i.ToString("D3", System.Globalization.CultureInfo.InvariantCulture);
            endpoints[name + ":Url"] = url;

            // With TLS, ALPN lets one port serve both.
            endpoints[name + ":Protocols"] = url.StartsWith("https:", StringComparison.OrdinalIgnoreCase) ? "Http1AndHttp2" : "Http2";
            i++;
        }

        var m = 0;
        foreach (var url in metricsUrls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (url.Equals("none", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var name = "Kestrel:Endpoints:Metrics" + m.ToString("D3", System.Globalization.CultureInfo.InvariantCulture);
            endpoints[name + ":Url"] = url;
            endpoints[name + ":Protocols"] = "Http1AndHttp2";
            m++;
        }

        return endpoints;
    }

    private static System.Diagnostics.Metrics.Measurement<int>[] TierCounts(TaskRegistry registry)
    {
        var (disk, host, device, slot, _) = registry.TierSnapshot();
        return
        [
            new(disk, new KeyValuePair<string, object?>("tier", "disk")),
            new(host, new KeyValuePair<string, object?>("tier", "host")),
            new(device, new KeyValuePair<string, object?>("tier", "device")),
            new(slot, new KeyValuePair<string, object?>("tier", "slot")),
        ];
    }

    private static IEnumerable<System.Diagnostics.Metrics.Measurement<int>> TaskResidency(TaskRegistry registry)
    {
        foreach (var (task, tier) in registry.TaskTiers())
        {
            yield return new(1, new KeyValuePair<string, object?>("task", task), new KeyValuePair<string, object?>("tier", TierLabel(tier)));
        }
    }

    private static string TierLabel(ResidencyTier tier) => tier switch
    {
        ResidencyTier.Slot => "slot",
        ResidencyTier.Device => "device",
        ResidencyTier.Host => "host",
        _ => "disk",
    };

    private static System.Diagnostics.Metrics.Measurement<long>[] TierBytes(TaskRegistry registry, SlotScheduler scheduler, IInferenceBackend backend)
    {
        var hostBytes = registry.TierSnapshot().HostBytes;
        var host = new System.Diagnostics.Metrics.Measurement<long>(hostBytes, new KeyValuePair<string, object?>("tier", "host"));
        var slot = new System.Diagnostics.Metrics.Measurement<long>(scheduler.MaterializedBytes, new KeyValuePair<string, object?>("tier", "slot"));

        // The device tier exists only on a GPU backend; a CPU server reports no device series at all.
        return backend is IDeviceDeltaTier device
            ? [host, new(device.DeviceDeltaBytes, new KeyValuePair<string, object?>("tier", "device")), slot]
            : [host, slot];
    }
}
