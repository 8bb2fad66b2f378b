using Grpc.Core;
using Grpc.Net.Client;

using Ken.Client;
using Ken.Format;
using Ken.Server.Hosting;
using Ken.Server.Tests.Serving;
using Ken.TestSupport;
using Ken.V1;

using Microsoft.Extensions.DependencyInjection;

using TaskKind = Ken.Format.Deltas.TaskKind;

namespace Ken.Server.Tests.Security;

/// <summary>TLS on the gRPC endpoint (<c>--tls-cert</c>, <c>--tls-key</c>) over real loopback gRPC, with a certificate each test makes.</summary>
public sealed class TlsEndToEndTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_client_that_pins_the_certificate_is_served_over_tls_and_one_that_does_not_trust_it_is_refused()
    {
        using var folder = new TempDirectory();
        using var certificate = SelfSignedCertificate.Create(folder.Path);
        var dataDir = TestServer.NewDataDir();
        TestServer.Seed(dataDir, "sotu", TaskKind.Classification);
        await using var server = await TestServer.StartAsync(new FakeBackend(), dataDir, true, "--urls", "https://127.0.0.1:0", "--tls-cert", certificate.CertPath, "--tls-key", certificate.KeyPath);
        Assert.StartsWith("https://127.0.0.1:", server.Address, StringComparison.Ordinal);

        using (var pinned = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { HttpHandler = certificate.PinningHandler(), DisposeHttpClient = true }))
        {
            var reply = await new Inference.InferenceClient(pinned).ClassifyAsync(new ClassifyRequest { Task = "sotu", Texts = { "over tls" } }, cancellationToken: Ct);
            Assert.Equal(TestDeltas.Labels.Length, reply.Results[0].Scores.Count);
        }

        // The system store does not trust a certificate this test just made: the handshake fails.
        using var untrusting = GrpcChannel.ForAddress(server.Address);
        var refused = await Assert.ThrowsAsync<RpcException>(() => new Inference.InferenceClient(untrusting).ClassifyAsync(new ClassifyRequest { Task = "sotu", Texts = { "x" } }, cancellationToken: Ct).ResponseAsync);
        Assert.True(FailedHandshake(refused), refused.ToString());

        // Cleartext HTTP/2 to the TLS port gets no gRPC reply either.
        using var cleartext = GrpcChannel.ForAddress(server.Address.Replace("https://", "http://", StringComparison.Ordinal));
        await Assert.ThrowsAsync<RpcException>(() => new Inference.InferenceClient(cleartext).ClassifyAsync(new ClassifyRequest { Task = "sotu", Texts = { "x" } }, cancellationToken: Ct).ResponseAsync);
    }

    [Fact]
    public async Task Ken_client_trusts_the_servers_certificate_file_for_inference_and_the_registry()
    {
        using var folder = new TempDirectory();
        using var certificate = SelfSignedCertificate.Create(folder.Path);
        var dataDir = TestServer.NewDataDir();
        TestServer.Seed(dataDir, "sotu", TaskKind.Classification);
        await using var server = await TestServer.StartAsync(new FakeBackend(), dataDir, true, "--urls", "https://127.0.0.1:0", "--tls-cert", certificate.CertPath, "--tls-key", certificate.KeyPath);

        using var client = new KenClient(new KenClientOptions { Address = server.Address, AdminToken = TestServer.Token, TrustedCertificatePath = certificate.CertPath, MaxRetries = 0 });
        var reply = await client.ClassifyAsync("sotu", ["trusted"], cancellationToken: Ct);
        Assert.Single(reply.Results);
        Assert.Equal("sotu", Assert.Single(await client.ListTasksAsync(Ct)).Name);

        // Trusting another certificate is not enough.
        using var other = SelfSignedCertificate.Create(folder.Path, "other");
        using var wrong = new KenClient(new KenClientOptions { Address = server.Address, TrustedCertificatePath = other.CertPath, MaxRetries = 0 });
        var refused = await Assert.ThrowsAsync<RpcException>(() => wrong.ClassifyAsync("sotu", ["x"], cancellationToken: Ct));
        Assert.True(FailedHandshake(refused), refused.ToString());
    }

    [Fact]
    public void A_key_that_is_not_the_certificates_stops_start_up()
    {
        using var folder = new TempDirectory();
        using var server = SelfSignedCertificate.Create(folder.Path);
        using var other = SelfSignedCertificate.Create(folder.Path, "other");
        var ex = Assert.Throws<KenException>(() => Build("--tls-cert", server.CertPath, "--tls-key", other.KeyPath));
        Assert.Contains($"--tls-key {other.KeyPath} is not the private key of --tls-cert {server.CertPath}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_or_non_pem_files_stop_start_up_naming_the_file()
    {
        using var folder = new TempDirectory();
        using var certificate = SelfSignedCertificate.Create(folder.Path);
        var missing = folder.File("missing.pem");
        Assert.Contains($"--tls-cert {missing}: cannot read the TLS certificate", Assert.Throws<KenException>(() => Build("--tls-cert", missing, "--tls-key", certificate.KeyPath)).Message, StringComparison.Ordinal);
        Assert.Contains($"--tls-key {missing}: cannot read the TLS private key", Assert.Throws<KenException>(() => Build("--tls-cert", certificate.CertPath, "--tls-key", missing)).Message, StringComparison.Ordinal);

        var junk = folder.File("junk.pem");
        File.WriteAllText(junk, "not a certificate");
        Assert.Contains("is not a PEM certificate", Assert.Throws<KenException>(() => Build("--tls-cert", junk, "--tls-key", certificate.KeyPath)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tls_needs_both_files_and_https_addresses()
    {
        using var folder = new TempDirectory();
        using var certificate = SelfSignedCertificate.Create(folder.Path);
        Assert.StartsWith("TLS needs both --tls-cert (KEN_TLS_CERT) and --tls-key (KEN_TLS_KEY)", Assert.Throws<KenException>(() => Build("--tls-cert", certificate.CertPath)).Message, StringComparison.Ordinal);
        var ex = Assert.Throws<KenException>(() => Build("--urls", "http://127.0.0.1:0", "--tls-cert", certificate.CertPath, "--tls-key", certificate.KeyPath));
        Assert.StartsWith("--urls http://127.0.0.1:0 is cleartext, but --tls-cert is set; use https:// addresses", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Whether the call failed in the TLS handshake (the client refused the server's certificate).</summary>
    private static bool FailedHandshake(RpcException error)
    {
        for (var e = error.Status.DebugException; e is not null; e = e.InnerException)
        {
            if (e is System.Security.Authentication.AuthenticationException)
            {
                return true;
            }
        }

        return false;
    }

    private static void Build(params string[] args)
    {
        var dataDir = TestServer.NewDataDir();
        string[] all = ["--urls", "https://127.0.0.1:0", "--metrics-urls", "none", "--data-dir", dataDir, .. args];
        var app = KenHost.Build(all, services => services.AddSingleton<Ken.Runtime.Backends.IInferenceBackend>(new FakeBackend()));
        ((IDisposable)app).Dispose();
        Assert.Fail("the server built, but it should have refused these TLS options");
    }
}
