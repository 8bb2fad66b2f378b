using Grpc.Health.V1;
using Ken.TestSupport;

namespace Ken.Client.Tests;

/// <summary>
/// Three real server processes (minilm, one slot each), each with its own data directory, all on one
/// shared registry folder (<c>--registry-dir</c>, polled every 500 ms, the default), and two different
/// embedding deltas written by the real <c>ken prune</c>, so a test can tell which version a replica serves.
/// The deltas are small (a replica reads and binds a changed file within the propagation time).
/// </summary>
public sealed class ReplicaSetFixture : IAsyncLifetime
{
    public const string Token = "replica-set-test-token-0123456789";

    private readonly TempDirectory dir = new();
    private readonly List<ServerProcess> servers = [];
    private readonly List<KenClient> clients = [];

    /// <summary>A client per replica, with no retries: a test must see the status each replica gave.</summary>
    public IReadOnlyList<KenClient> Replicas => clients;

    public IReadOnlyList<string> Addresses => servers.Select(s => s.Address).ToList();

    public string SharedDir => dir.File("shared");

    /// <summary>arctic-xs against minilm, magnitude, keep 0.02, CLS pooling, normalized.</summary>
    public string V1Path => dir.File("v1.ken");

    /// <summary>arctic-xs against minilm, random (seed 3), keep 0.01, mean pooling, normalized.</summary>
    public string V2Path => dir.File("v2.ken");

    /// <summary>Everything the replicas logged so far, for failure messages.</summary>
    public string Logs => string.Join("\n", servers.Select((s, i) => $"--- replica {i + 1} ---\n{s.Log}"));

    public async ValueTask InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        var v1 = CliProcess.RunAsync(
            ["prune", "--base", "minilm", "--finetuned", "arctic-xs", "--keep", "0.02", "--method", "magnitude", "--pooling", "cls", "--normalize", "--task", "v1", "-o", V1Path],
            timeout.Token);
        var v2 = CliProcess.RunAsync(
            ["prune", "--base", "minilm", "--finetuned", "arctic-xs", "--keep", "0.01", "--method", "random", "--seed", "3", "--pooling", "mean", "--normalize", "--task", "v2", "-o", V2Path],
            timeout.Token);
        for (var i = 1; i <= 3; i++)
        {
            servers.Add(await ServerProcess.StartAsync(
                ["--data-dir", dir.File("data-" + i), "--registry-dir", SharedDir, "--admin-token", Token, "--metrics-urls", "none", "--batch-window-ms", "1", "--slots", "1", "--executors", "1"],
                timeout.Token));
            clients.Add(new KenClient(new KenClientOptions { Address = servers[^1].Address, AdminToken = Token, MaxRetries = 0 }));
            var status = await clients[^1].CheckHealthAsync(timeout.Token);
            if (status != HealthCheckResponse.Types.ServingStatus.Serving)
            {
                throw new InvalidOperationException($"replica {i} listens but reports {status}:\n{servers[^1].Log}");
            }
        }

        foreach (var pruned in await Task.WhenAll(v1, v2))
        {
            if (pruned.ExitCode != 0)
            {
                throw new InvalidOperationException($"ken prune exited with {pruned.ExitCode}: {pruned.Stderr}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }

            var failures = new List<string>();
            foreach (var server in servers)
            {
                int? exit = await server.StopAsync();
                if (exit != 0)
                {
                    failures.Add($"a replica did not stop cleanly on SIGTERM (exit code {exit?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none: killed"}):\n{server.Log}");
                }

                await server.DisposeAsync();
            }

            if (failures.Count > 0)
            {
                throw new InvalidOperationException(string.Join("\n", failures));
            }
        }
        finally
        {
            dir.Dispose();
        }
    }
}
