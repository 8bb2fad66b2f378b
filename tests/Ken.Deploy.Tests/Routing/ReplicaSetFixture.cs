using Grpc.Health.V1;
using Ken.Client;
using Ken.Client.Tests;
using Ken.Deploy.Tests.Support;
using Ken.TestSupport;

namespace Ken.Deploy.Tests.Routing;

/// <summary>
/// Three real server processes on loopback (each its own data directory and fixed ports, so a
/// restarted replica comes back where the proxy expects it) behind HAProxy run on
/// deploy/haproxy/haproxy.cfg, sharing one registry directory, and eight classification tasks
/// registered through replica 1. When haproxy is not
/// installed nothing starts and <see cref="SkipReason"/> says so.
/// </summary>
public sealed class ReplicaSetFixture : IAsyncLifetime
{
    public const string Token = "deploy-test-admin-token-0123456789abcdef";

    /// <summary>
    /// Whether the replicas share one --registry-dir (registering through replica 1 alone) or each is
    /// its own registry (every task registered on every replica): the deployment with and without
    /// the shared store.
    /// </summary>
    private static bool SharedRegistry => true;

    private static readonly TimeSpan Setup = TimeSpan.FromMinutes(8);

    private readonly TempDirectory dir = new();
    private readonly List<Replica> replicas = [];
    private HaproxyProcess? proxy;
    private KenClient? proxyClient;

    public static IReadOnlyList<string> TaskNames { get; } = [.. Enumerable.Range(0, 8).Select(i => $"cls-{i}")];

    /// <summary>Why the tests cannot run here (haproxy missing), or null.</summary>
    public string? SkipReason { get; private set; }

    internal IReadOnlyList<Replica> Replicas => replicas;

    internal HaproxyProcess Proxy => proxy ?? throw new InvalidOperationException("the fixture is not initialized");

    public string ProxyAddress { get; private set; } = string.Empty;

    /// <summary>A client of the proxy without retries: every failure shows.</summary>
    public KenClient ProxyClient => proxyClient ?? throw new InvalidOperationException("the fixture is not initialized");

    public HttpClient Http { get; } = new();

    /// <summary>The .ken file of each task, by name.</summary>
    public IReadOnlyDictionary<string, string> DeltaPaths { get; private set; } = new Dictionary<string, string>();

    public async ValueTask InitializeAsync()
    {
        string? haproxy = Tools.Find("haproxy");
        if (haproxy is null)
        {
            SkipReason = Tools.SkipReason("haproxy", "haproxy");
            return;
        }

        using var timeout = new CancellationTokenSource(Setup);
        var ct = timeout.Token;
        string pruned = dir.File("arctic.ken");
        var prune = CliProcess.RunAsync(["prune", "--base", "minilm", "--finetuned", "arctic-xs", "--keep", "0.05", "--method", "magnitude", "--pooling", "cls", "-o", pruned], ct);

        int[] ports = FreePorts.Take(8);
        for (int i = 0; i < 3; i++)
        {
            replicas.Add(new Replica($"r{i + 1}", ports[2 * i], ports[(2 * i) + 1], dir.File($"replica-{i + 1}")));
        }

        await Task.WhenAll(replicas.Select(r => StartAsync(r, ct)));

        var pruneResult = await prune;
        if (pruneResult.ExitCode != 0)
        {
            throw new InvalidOperationException($"ken prune exited with {pruneResult.ExitCode}: {pruneResult.Stderr}");
        }

        Directory.CreateDirectory(dir.File("tasks"));
        var deltas = ClassifierDeltas.Write(pruned, dir.File("tasks"), TaskNames);
        DeltaPaths = deltas;
        foreach (var replica in SharedRegistry ? replicas.Take(1) : replicas)
        {
            using var admin = new KenClient(new KenClientOptions { Address = replica.Address, AdminToken = Token });
            foreach (var (name, path) in deltas)
            {
                await admin.RegisterAsync(path, name, cancellationToken: ct);
            }
        }

        string config = dir.File("haproxy.cfg");
        await File.WriteAllTextAsync(config, HaproxyConfig.Render(await File.ReadAllTextAsync(Tools.Deploy("haproxy", "haproxy.cfg"), ct), [.. replicas.Select(r => (r.Name, r.GrpcPort, r.MetricsPort))]), ct);
        proxy = await HaproxyProcess.StartAsync(haproxy, config, ports[6], ports[7], ct);
        ProxyAddress = $"http://127.0.0.1:{ports[6]}";
        proxyClient = new KenClient(new KenClientOptions { Address = ProxyAddress, AdminToken = Token, MaxRetries = 0 });
    }

    /// <summary>Skips the calling test when the fixture could not start (haproxy missing).</summary>
    public void SkipIfUnavailable()
    {
        if (SkipReason is not null)
        {
            Assert.Skip(SkipReason);
        }
    }

    /// <summary>kill -9: the replica dies without draining or telling anyone.</summary>
    internal static async Task KillAsync(Replica replica)
    {
        var process = replica.Process ?? throw new InvalidOperationException($"{replica.Name} is not running");
        await process.KillAsync();
        await process.DisposeAsync();
        replica.Process = null;
    }

    /// <summary>Starts the replica again on its ports and data directory (its tasks are still there).</summary>
    internal Task RestartAsync(Replica replica, CancellationToken cancellationToken) => StartAsync(replica, cancellationToken);

    /// <summary>Every replica's /metrics, in replica order.</summary>
    internal async Task<PrometheusScrape[]> ScrapeAsync(CancellationToken cancellationToken) =>
        await Task.WhenAll(replicas.Select(r => PrometheusScrape.ReadAsync(Http, r.MetricsUrl, cancellationToken)));

    public async ValueTask DisposeAsync()
    {
        try
        {
            proxyClient?.Dispose();
            if (proxy is not null)
            {
                await proxy.DisposeAsync();
            }

            foreach (var replica in replicas)
            {
                if (replica.Process is { } process)
                {
                    await process.DisposeAsync();
                }
            }

            Http.Dispose();
        }
        finally
        {
            dir.Dispose();
        }
    }

    private async Task StartAsync(Replica replica, CancellationToken cancellationToken)
    {
        List<string> args =
        [
            // After ServerProcess's "--urls http://127.0.0.1:0": the last value wins.
            "--urls", replica.Address,
            "--metrics-urls", $"http://127.0.0.1:{replica.MetricsPort}",
            "--data-dir", replica.DataDir,
            "--admin-token", Token,
            "--batch-window-ms", "1",

            // These tests are about routing: a burst of concurrent requests on a loaded 2-core CI machine must
            // queue rather than be shed by admission by time (that has its own tests in Ken.Server.Tests).
            "--max-queue-wait-ms", "120000",
        ];
        if (SharedRegistry)
        {
            args.AddRange(["--registry-dir", dir.File("registry")]);
        }

        replica.Process = await ServerProcess.StartAsync(args, cancellationToken);
        using var client = new KenClient(new KenClientOptions { Address = replica.Address, MaxRetries = 0 });
        var status = await client.CheckHealthAsync(cancellationToken);
        if (status != HealthCheckResponse.Types.ServingStatus.Serving)
        {
            throw new InvalidOperationException($"{replica.Name} listens but reports {status}:\n{replica.Process.Log}");
        }
    }
}
