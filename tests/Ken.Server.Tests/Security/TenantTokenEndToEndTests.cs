using Grpc.Core;

using Ken.Client;
using Ken.Format;
using Ken.Server.Tests.Serving;
using Ken.TestSupport;
using Ken.V1;

using TaskKind = Ken.Format.Deltas.TaskKind;

namespace Ken.Server.Tests.Security;

/// <summary>Per-tenant inference tokens (<c>--tenant-tokens</c>) over real loopback gRPC.</summary>
public sealed class TenantTokenEndToEndTests
{
    private const string SpamToken = "spam-team-token-0123456789";
    private const string SotuToken = "sotu-team-token-0123456789";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Inference_needs_a_known_token_whose_patterns_cover_the_task()
    {
        await using var server = await StartAsync();
        var classify = (string task, Metadata? headers) => server.Inference.ClassifyAsync(new ClassifyRequest { Task = task, Texts = { "hi" } }, headers, cancellationToken: Ct).ResponseAsync;

        await InferenceEndToEndTests.AssertStatus(StatusCode.Unauthenticated, "inference calls need a tenant token", () => classify("spam-a", null));
        await InferenceEndToEndTests.AssertStatus(StatusCode.Unauthenticated, "not known to this server", () => classify("spam-a", Bearer("spam-team-token-0123456780")));
        await InferenceEndToEndTests.AssertStatus(StatusCode.Unauthenticated, "not known to this server", () => classify("spam-a", new Metadata { { "authorization", "Basic " + SpamToken } }));

        Assert.Single((await classify("spam-a", Bearer(SpamToken))).Results);
        Assert.Single((await classify("spam-b", Bearer(SpamToken))).Results);
        Assert.Single((await classify("sotu", Bearer(SotuToken))).Results);
        var embedded = await server.Inference.EmbedAsync(new EmbedRequest { Task = "sotu-embed", Texts = { "hi" } }, Bearer(SotuToken), cancellationToken: Ct);
        Assert.Single(embedded.Embeddings);

        await InferenceEndToEndTests.AssertStatus(StatusCode.PermissionDenied, "tenant 'spam' may not call task 'sotu'; its token allows spam-*", () => classify("sotu", Bearer(SpamToken)));
        await InferenceEndToEndTests.AssertStatus(StatusCode.PermissionDenied, "may not call task 'other'", () => classify("other", Bearer(SotuToken)));

        // A task outside the patterns is refused before the registry is asked, so its existence does not leak.
        await InferenceEndToEndTests.AssertStatus(StatusCode.PermissionDenied, "may not call task 'ghost'", () => classify("ghost", Bearer(SpamToken)));
    }

    [Fact]
    public async Task The_admin_token_and_tenant_tokens_stay_separate()
    {
        await using var server = await StartAsync();

        // The registry's admin token does not serve inference, and a tenant token does not open the registry.
        await InferenceEndToEndTests.AssertStatus(StatusCode.Unauthenticated, "not known to this server", () => server.Inference.ClassifyAsync(new ClassifyRequest { Task = "spam-a", Texts = { "x" } }, TestServer.AdminHeaders, cancellationToken: Ct).ResponseAsync);
        await InferenceEndToEndTests.AssertStatus(StatusCode.PermissionDenied, "admin token is wrong", () => server.Registry.ListTasksAsync(new ListTasksRequest(), Bearer(SpamToken), cancellationToken: Ct).ResponseAsync);
        Assert.Equal(5, (await server.Registry.ListTasksAsync(new ListTasksRequest(), TestServer.AdminHeaders, cancellationToken: Ct)).Tasks.Count);

        // Health stays open for probes.
        var health = new Grpc.Health.V1.Health.HealthClient(server.Channel);
        Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new Grpc.Health.V1.HealthCheckRequest(), cancellationToken: Ct)).Status);
    }

    [Fact]
    public async Task Ken_client_sends_its_inference_token()
    {
        await using var server = await StartAsync();
        using var tenant = new KenClient(new KenClientOptions { Address = server.Address, InferenceToken = SpamToken, MaxRetries = 0 });
        Assert.Single((await tenant.ClassifyAsync("spam-a", ["x"], cancellationToken: Ct)).Results);
        Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(() => tenant.ClassifyAsync("sotu", ["x"], cancellationToken: Ct))).StatusCode);

        using var anonymous = new KenClient(new KenClientOptions { Address = server.Address, MaxRetries = 0 });
        Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(() => anonymous.ClassifyAsync("spam-a", ["x"], cancellationToken: Ct))).StatusCode);
    }

    [Fact]
    public void A_bad_token_file_stops_start_up_saying_what_is_wrong()
    {
        using var folder = new TempDirectory();
        var path = folder.File("tokens.json");
        File.WriteAllText(path, """{"tokens":[{"token":"short","tasks":["a"]}]}""");
        var ex = Assert.Throws<KenException>(() => Ken.Server.Hosting.KenHost.Build(["--data-dir", folder.Path, "--metrics-urls", "none", "--tenant-tokens", path]));
        Assert.Equal($"--tenant-tokens {path}: tokens[0] needs a \"token\" of at least 16 characters (e.g. from `openssl rand -hex 32`).", ex.Message);

        var missing = folder.File("missing.json");
        Assert.StartsWith($"--tenant-tokens {missing}: cannot read it", Assert.Throws<KenException>(() => Ken.Server.Hosting.KenHost.Build(["--data-dir", folder.Path, "--tenant-tokens", missing])).Message, StringComparison.Ordinal);
    }

    private static Metadata Bearer(string token) => new() { { "authorization", "Bearer " + token } };

    private static async Task<TestServer> StartAsync()
    {
        var dataDir = TestServer.NewDataDir();
        foreach (var task in (string[])["spam-a", "spam-b", "sotu", "other"])
        {
            TestServer.Seed(dataDir, task, TaskKind.Classification);
        }

        TestServer.Seed(dataDir, "sotu-embed", TaskKind.Embedding);
        var tokens = Path.Combine(dataDir, "tenants.json");
        File.WriteAllText(tokens, $$"""
            {"tokens": [
              {"name": "spam", "token": "{{SpamToken}}", "tasks": ["spam-*"]},
              {"name": "sotu", "token": "{{SotuToken}}", "tasks": ["sotu", "sotu-e*d"]}
            ]}
            """);
        return await TestServer.StartAsync(new FakeBackend(), dataDir, true, "--tenant-tokens", tokens);
    }
}
