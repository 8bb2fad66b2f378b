using Ken.Server.Hosting;
using Ken.TestSupport;
using Microsoft.AspNetCore.Builder;

namespace Ken.Cli.Tests;

/// <summary>
/// The real Ken server (minilm backbone) on free loopback ports, shared by a test class, with one
/// embedding task delta (arctic-xs against minilm, magnitude, keep 0.1) ready to register.
/// </summary>
public sealed class LiveServerFixture : IAsyncLifetime
{
    public const string Token = "client-test-admin-token-0123456789";

    private readonly TempDirectory dir = new();
    private WebApplication? app;

    public string Address { get; private set; } = string.Empty;

    public string MetricsUrl { get; private set; } = string.Empty;

    public string DataDir => dir.File("data");

    public string DeltaPath => dir.File("arctic.ken");

    public string NewPath(string name) => dir.File(name);

    public async ValueTask InitializeAsync()
    {
        var prune = CliRunner.Run("prune", "--base", "minilm", "--finetuned", "arctic-xs", "--keep", "0.1", "--method", "magnitude", "--pooling", "cls", "--normalize", "--task", "arctic", "-o", DeltaPath);
        Assert.True(prune.ExitCode == 0, prune.Stderr);

        app = KenHost.Build(["--urls", "http://127.0.0.1:0", "--metrics-urls", "http://127.0.0.1:0", "--data-dir", DataDir, "--admin-token", Token, "--batch-window-ms", "1"]);
        await app.StartAsync();

        // KenHost binds the gRPC endpoint first and the metrics endpoint last.
        Address = app.Urls.First();
        MetricsUrl = app.Urls.Last().TrimEnd('/') + "/metrics";
    }

    /// <summary>Runs <c>ken</c> with <c>--server</c> and <c>--token</c> for this server appended.</summary>
    internal CliResult Ken(params string[] args) => CliRunner.Run([.. args, "--server", Address, "--token", Token]);

    public async ValueTask DisposeAsync()
    {
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        dir.Dispose();
    }
}
