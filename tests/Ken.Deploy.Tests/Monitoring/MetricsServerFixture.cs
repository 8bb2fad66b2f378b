using Ken.Client;
using Ken.Client.Tests;
using Ken.Deploy.Tests.Support;
using Ken.TestSupport;

namespace Ken.Deploy.Tests.Monitoring;

/// <summary>
/// One real server process that has served a classification task twice (one swap, then a slot hit),
/// so every series it exports exists, and one scrape of its /metrics.
/// </summary>
public sealed class MetricsServerFixture : IAsyncLifetime
{
    private readonly TempDirectory dir = new();
    private ServerProcess? server;

    /// <summary>Every sample name in the scrape (histograms as their _bucket, _sum and _count series).</summary>
    public IReadOnlySet<string> Exported { get; private set; } = new HashSet<string>();

    public async ValueTask InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ct = timeout.Token;
        const string token = "metrics-test-admin-token-0123456789abcdef";
        string pruned = dir.File("arctic.ken");
        var prune = CliProcess.RunAsync(["prune", "--base", "minilm", "--finetuned", "arctic-xs", "--keep", "0.05", "--method", "magnitude", "--pooling", "cls", "-o", pruned], ct);
        int metricsPort = FreePorts.Take(1)[0];
        server = await ServerProcess.StartAsync(["--data-dir", dir.File("data"), "--admin-token", token, "--metrics-urls", $"http://127.0.0.1:{metricsPort}", "--batch-window-ms", "1"], ct);
        var result = await prune;
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"ken prune exited with {result.ExitCode}: {result.Stderr}");
        }

        Directory.CreateDirectory(dir.File("tasks"));
        var delta = ClassifierDeltas.Write(pruned, dir.File("tasks"), ["metrics"]).Single();
        using var client = new KenClient(new KenClientOptions { Address = server.Address, AdminToken = token, MaxRetries = 0 });
        await client.RegisterAsync(delta.Value, delta.Key, cancellationToken: ct);
        await client.ClassifyAsync(delta.Key, ["a first text"], cancellationToken: ct);
        await client.ClassifyAsync(delta.Key, ["a second text"], cancellationToken: ct);

        using var http = new HttpClient();
        var scrape = await PrometheusScrape.ReadAsync(http, $"http://127.0.0.1:{metricsPort}/metrics", ct);
        Exported = scrape.Names.ToHashSet(StringComparer.Ordinal);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (server is not null)
            {
                await server.DisposeAsync();
            }
        }
        finally
        {
            dir.Dispose();
        }
    }
}
