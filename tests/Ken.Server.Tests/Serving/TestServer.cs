using Google.Protobuf;
using Ken.Runtime.Backends;

using Grpc.Core;
using Grpc.Net.Client;

using Ken.Format.Deltas;
using Ken.Server.Hosting;
using Ken.Server.Scheduling;
using Ken.V1;

using TaskKind = Ken.Format.Deltas.TaskKind;

using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Ken.Server.Tests.Serving;

/// <summary>
/// The real host on a free loopback port, with a <see cref="FakeBackend"/> or the backend the server
/// itself builds from its flags, and gRPC clients for it.
/// </summary>
internal sealed class TestServer : IAsyncDisposable
{
    public const string Token = "test-admin-token-0123456789abcdef";

    private readonly WebApplication _app;
    private readonly FakeBackend? _backend;

    private TestServer(WebApplication app, string address, string metricsAddress, string dataDir, FakeBackend? backend)
    {
        _app = app;
        Address = address;
        MetricsAddress = metricsAddress;
        DataDir = dataDir;
        _backend = backend;
        Channel = GrpcChannel.ForAddress(address);
        Inference = new Inference.InferenceClient(Channel);
        Registry = new Ken.V1.Registry.RegistryClient(Channel);
    }

    public string Address { get; }

    public string MetricsAddress { get; }

    public string DataDir { get; }

    public FakeBackend Backend => _backend ?? throw new InvalidOperationException("this server runs a real backend, not a FakeBackend");

    /// <summary>The host's services (e.g. its <see cref="IInferenceBackend"/>).</summary>
    public IServiceProvider Services => _app.Services;

    public SlotScheduler Scheduler => _app.Services.GetRequiredService<SlotScheduler>();

    /// <summary>Follows the number of queued requests, so a test can await "N requests are waiting".</summary>
    public CountSignal WatchQueueDepth()
    {
        var depth = new CountSignal();
        Scheduler.QueueDepthChanged += depth.Set;
        depth.Set(Scheduler.QueueDepth);
        return depth;
    }

    public GrpcChannel Channel { get; }

    public Inference.InferenceClient Inference { get; }

    public Ken.V1.Registry.RegistryClient Registry { get; }

    public static Metadata AdminHeaders => new() { { "authorization", "Bearer " + Token } };

    public static string NewDataDir() => Directory.CreateTempSubdirectory("ken-server-test-").FullName;

    public static Task<TestServer> StartAsync(FakeBackend backend, string? dataDir = null, bool withToken = true, params string[] extraArgs) =>
        StartCoreAsync(backend, dataDir, withToken, extraArgs, null, TestContext.Current.CancellationToken);

    /// <summary>Starts the server with <paramref name="configureServices"/> applied to its services (e.g. an extra logger provider).</summary>
    public static Task<TestServer> StartAsync(FakeBackend backend, string dataDir, Action<IServiceCollection> configureServices) =>
        StartCoreAsync(backend, dataDir, true, [], configureServices, TestContext.Current.CancellationToken);

    /// <summary>Starts the server with the backend <see cref="BackendFactory"/> builds from <paramref name="extraArgs"/> (e.g. <c>--swap-mode</c>).</summary>
    public static Task<TestServer> StartRealAsync(string dataDir, CancellationToken cancellationToken, params string[] extraArgs) =>
        StartCoreAsync(null, dataDir, true, extraArgs, null, cancellationToken);

    private static async Task<TestServer> StartCoreAsync(FakeBackend? backend, string? dataDir, bool withToken, string[] extraArgs, Action<IServiceCollection>? configureServices, CancellationToken cancellationToken)
    {
        dataDir ??= NewDataDir();
        var args = new List<string> { "--urls", "http://127.0.0.1:0", "--metrics-urls", "http://127.0.0.1:0", "--data-dir", dataDir, "--batch-window-ms", "1" };
        if (withToken)
        {
            args.Add("--admin-token");
            args.Add(Token);
        }

        args.AddRange(extraArgs);
        var app = KenHost.Build([.. args], services =>
        {
            if (backend is not null)
            {
                services.AddSingleton<IInferenceBackend>(backend);
            }

            configureServices?.Invoke(services);
        });
        await app.StartAsync(cancellationToken);
        // KenHost binds the gRPC endpoint first and the metrics endpoint last.
        Assert.Equal(2, app.Urls.Count);
        return new TestServer(app, app.Urls.First(), app.Urls.Last(), dataDir, backend);
    }

    /// <summary>Writes a task file straight into the registry folder (as if registered before a restart).</summary>
    public static void Seed(string dataDir, string task, TaskKind kind)
    {
        var tasks = Path.Combine(dataDir, "tasks");
        Directory.CreateDirectory(tasks);
        TestDeltas.Write(tasks, task, kind);
    }

    /// <summary>Stops the host as SIGTERM would: admitted requests drain, new ones are refused.</summary>
    public Task StopAsync() => _app.StopAsync(CancellationToken.None);

    public async Task<TaskInfo> RegisterAsync(string name, byte[] bytes, bool overwrite = false, string? sha = null, ulong? size = null, Metadata? headers = null, int chunkSize = 100, bool pin = false)
    {
        using var call = Registry.RegisterTask(headers ?? AdminHeaders, cancellationToken: TestContext.Current.CancellationToken);
        try
        {
            await call.RequestStream.WriteAsync(new RegisterTaskRequest
            {
                Header = new RegisterTaskHeader { Name = name, Overwrite = overwrite, Pin = pin, SizeBytes = size ?? (ulong)bytes.Length, Sha256 = sha ?? TestDeltas.Sha256(bytes) },
            });
            for (var offset = 0; offset < bytes.Length; offset += chunkSize)
            {
                await call.RequestStream.WriteAsync(new RegisterTaskRequest { Chunk = ByteString.CopyFrom(bytes, offset, Math.Min(chunkSize, bytes.Length - offset)) });
            }

            await call.RequestStream.CompleteAsync();
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException)
        {
            // The server may refuse as soon as the call starts (a wrong admin token) or right after the
            // header (ALREADY_EXISTS); the failed write then only says "cancelled", so its reply carries
            // the status under test.
            await call.ResponseAsync;
            throw;
        }

        return await call;
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
