using Grpc.Health.V1;
using Ken.TestSupport;

namespace Ken.Client.Tests;

/// <summary>
/// A real Ken server process (minilm backbone, its own data directory, metrics off) shared by a
/// test class, a client for it, and an embedding delta (arctic-xs against minilm, magnitude, keep
/// 0.1, CLS pooling, normalized) written by the real <c>ken prune</c>.
/// </summary>
public sealed class LiveServerFixture : IAsyncLifetime
{
    public const string Token = "client-library-test-token-0123456789";

    private readonly TempDirectory dir = new();
    private ServerProcess? server;
    private KenClient? client;

    public KenClient Client => client ?? throw new InvalidOperationException("the fixture is not initialized");

    public string Address => server?.Address ?? throw new InvalidOperationException("the fixture is not initialized");

    public string DeltaPath => dir.File("arctic.ken");

    public async ValueTask InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var prune = CliProcess.RunAsync(
            ["prune", "--base", "minilm", "--finetuned", "arctic-xs", "--keep", "0.1", "--method", "magnitude", "--pooling", "cls", "--normalize", "--task", "arctic", "-o", DeltaPath],
            timeout.Token);
        server = await ServerProcess.StartAsync(
            ["--data-dir", dir.File("data"), "--admin-token", Token, "--metrics-urls", "none", "--batch-window-ms", "1"],
            timeout.Token);

        // No retries: a test must see the status the server gave.
        client = new KenClient(new KenClientOptions { Address = server.Address, AdminToken = Token, MaxRetries = 0 });

        // The server reports SERVING before Kestrel opens its port (its start-up service runs first),
        // so the first health check after "Now listening" must already say so.
        var status = await client.CheckHealthAsync(timeout.Token);
        if (status != HealthCheckResponse.Types.ServingStatus.Serving)
        {
            throw new InvalidOperationException($"the server listens but reports {status}:\n{server.Log}");
        }

        var pruned = await prune;
        if (pruned.ExitCode != 0)
        {
            throw new InvalidOperationException($"ken prune exited with {pruned.ExitCode}: {pruned.Stderr}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            client?.Dispose();
            if (server is not null)
            {
                int? exit = await server.StopAsync();
                string log = server.Log;
                await server.DisposeAsync();

                // A server that needs killing, or fails its own shutdown, is a bug these tests should show.
                if (exit != 0)
                {
                    throw new InvalidOperationException($"the server did not stop cleanly on SIGTERM (exit code {exit?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none: killed"}):\n{log}");
                }
            }
        }
        finally
        {
            dir.Dispose();
        }
    }
}
