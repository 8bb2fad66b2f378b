using Ken.TestSupport;

namespace Ken.Client.Tests;

/// <summary>The real server process with <c>--tls-cert</c>/<c>--tls-key</c>, reached by the real <c>ken</c> tool over https.</summary>
public sealed class TlsCliTests
{
    private const string Token = "tls-cli-test-token-0123456789";

    [Fact]
    public async Task The_cli_reaches_a_tls_server_only_when_it_trusts_the_servers_certificate()
    {
        using var dir = new TempDirectory();
        using var certificate = SelfSignedCertificate.Create(dir.Path);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await using var server = await ServerProcess.StartAsync(
            ["--urls", "https://127.0.0.1:0", "--tls-cert", certificate.CertPath, "--tls-key", certificate.KeyPath, "--data-dir", dir.File("data"), "--admin-token", Token, "--metrics-urls", "none"],
            timeout.Token);
        Assert.StartsWith("https://127.0.0.1:", server.Address, StringComparison.Ordinal);

        var health = await CliProcess.RunAsync(["health", "--server", server.Address, "--ca-cert", certificate.CertPath], timeout.Token);
        Assert.True(health.ExitCode == 0, health.Stderr);
        Assert.Contains("SERVING", health.Stdout, StringComparison.Ordinal);

        var tasks = await CliProcess.RunAsync(["tasks", "--json", "--server", server.Address, "--ca-cert", certificate.CertPath, "--token", Token], timeout.Token);
        Assert.True(tasks.ExitCode == 0, tasks.Stderr);

        var untrusted = await CliProcess.RunAsync(["health", "--server", server.Address], timeout.Token);
        Assert.NotEqual(0, untrusted.ExitCode);
        Assert.Contains($"the TLS handshake with {server.Address} failed", untrusted.Stderr, StringComparison.Ordinal);
        Assert.Contains("pass --ca-cert", untrusted.Stderr, StringComparison.Ordinal);
    }
}
