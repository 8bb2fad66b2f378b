using Grpc.Core;

using Ken.Format.Deltas;
using Ken.Server.Registry;
using Ken.V1;

using Microsoft.Extensions.DependencyInjection;

using TaskKind = Ken.Format.Deltas.TaskKind;

namespace Ken.Server.Tests.Serving;

public sealed class RegistryEndToEndTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Register_serve_and_unregister_while_requests_wait()
    {
        var dataDir = TestServer.NewDataDir();
        TestServer.Seed(dataDir, "busy", TaskKind.Embedding);
        var backend = new FakeBackend(slots: 1);
        await using var server = await TestServer.StartAsync(backend, dataDir);

        var info = await server.RegisterAsync("fresh", TestDeltas.Bytes("anything", TaskKind.Classification), chunkSize: 37);
        Assert.Equal("fresh", info.Name);
        Assert.Equal(Ken.V1.TaskKind.Classification, info.Kind);
        Assert.Equal(TestDeltas.Labels, info.Labels);
        Assert.Equal(4u, info.K);
        Assert.Equal("fake-base", info.BaseModel);
        Assert.True(File.Exists(Path.Combine(dataDir, "tasks", "fresh.ken")));

        var first = await server.Inference.ClassifyAsync(new ClassifyRequest { Task = "fresh", Texts = { "x" } }, cancellationToken: Ct);
        Assert.Equal(FakeBackend.ExpectedScores("fresh", "x", 3), first.Results[0].Scores.Select(s => s.Score));

        // Hold the only slot, queue a request for "fresh", then unregister it.
        var depth = server.WatchQueueDepth();
        backend.Gate.Reset();
        var blocker = server.Inference.EmbedAsync(new EmbedRequest { Task = "busy", Texts = { "b" } }, cancellationToken: Ct).ResponseAsync;
        await backend.RunsStarted.WhenAtLeast(2);
        var registry = server.Services.GetRequiredService<TaskRegistry>();
        var freshEntry = registry.Get("fresh");
        Assert.Equal(1, freshEntry.RequestCount);
        var admitted = server.Inference.ClassifyAsync(new ClassifyRequest { Task = "fresh", Texts = { "admitted" } }, cancellationToken: Ct).ResponseAsync;

        // Unregister only once the request is admitted and queued; the busy slot keeps it waiting.
        await depth.WhenAtLeast(1);
        Assert.Equal(2, freshEntry.RequestCount);
        Assert.False(admitted.IsCompleted);
        await server.Registry.UnregisterTaskAsync(new UnregisterTaskRequest { Name = "fresh" }, TestServer.AdminHeaders, cancellationToken: Ct);
        Assert.True(freshEntry.Retired);
        await InferenceEndToEndTests.AssertStatus(StatusCode.NotFound, "not registered", () => server.Inference.ClassifyAsync(new ClassifyRequest { Task = "fresh", Texts = { "later" } }, cancellationToken: Ct).ResponseAsync);

        backend.Gate.Set();
        await blocker;
        var done = await admitted;
        Assert.Equal(FakeBackend.ExpectedScores("fresh", "admitted", 3), done.Results[0].Scores.Select(s => s.Score));
        Assert.False(File.Exists(Path.Combine(dataDir, "tasks", "fresh.ken")));
        await InferenceEndToEndTests.AssertStatus(StatusCode.NotFound, "not registered", () => server.Registry.GetTaskAsync(new GetTaskRequest { Name = "fresh" }, TestServer.AdminHeaders, cancellationToken: Ct).ResponseAsync);
        Assert.Empty(backend.Violations);
    }

    [Fact]
    public async Task Restart_reloads_tasks_and_quarantines_a_truncated_file()
    {
        var dataDir = TestServer.NewDataDir();
        await using (var first = await TestServer.StartAsync(new FakeBackend(), dataDir))
        {
            await first.RegisterAsync("alpha", TestDeltas.Bytes("alpha", TaskKind.Embedding));
            await first.RegisterAsync("beta", TestDeltas.Bytes("beta", TaskKind.Classification));
        }

        var broken = TestDeltas.Bytes("gamma", TaskKind.Embedding);
        File.WriteAllBytes(Path.Combine(dataDir, "tasks", "gamma.ken"), broken.AsSpan(0, broken.Length / 2).ToArray());
        File.WriteAllBytes(Path.Combine(dataDir, "tasks", ".delta.ken.tmp-0123456789ab"), [1, 2, 3]);

        await using var second = await TestServer.StartAsync(new FakeBackend(), dataDir);
        var list = await second.Registry.ListTasksAsync(new ListTasksRequest(), TestServer.AdminHeaders, cancellationToken: Ct);
        Assert.Equal(new[] { "alpha", "beta" }, list.Tasks.Select(t => t.Name));
        Assert.Single(Directory.GetFiles(Path.Combine(dataDir, "quarantine"), "gamma.ken*"));
        Assert.False(File.Exists(Path.Combine(dataDir, "tasks", "gamma.ken")));
        Assert.False(File.Exists(Path.Combine(dataDir, "tasks", ".delta.ken.tmp-0123456789ab")));

        var reply = await second.Inference.EmbedAsync(new EmbedRequest { Task = "alpha", Texts = { "hello" } }, cancellationToken: Ct);
        Assert.Equal(FakeBackend.ExpectedEmbedding("alpha", "hello"), reply.Embeddings[0].Values);
    }

    [Fact]
    public async Task Registry_needs_the_admin_token()
    {
        await using var server = await TestServer.StartAsync(new FakeBackend());
        await InferenceEndToEndTests.AssertStatus(StatusCode.Unauthenticated, "Bearer", () => server.Registry.ListTasksAsync(new ListTasksRequest(), cancellationToken: Ct).ResponseAsync);
        var wrong = new Metadata { { "authorization", "Bearer not-the-token" } };
        await InferenceEndToEndTests.AssertStatus(StatusCode.PermissionDenied, "wrong", () => server.Registry.ListTasksAsync(new ListTasksRequest(), wrong, cancellationToken: Ct).ResponseAsync);
        await InferenceEndToEndTests.AssertStatus(StatusCode.PermissionDenied, "wrong", () => server.RegisterAsync("x", TestDeltas.Bytes("x", TaskKind.Embedding), headers: wrong));
        Assert.Empty((await server.Registry.ListTasksAsync(new ListTasksRequest(), TestServer.AdminHeaders, cancellationToken: Ct)).Tasks);
    }

    [Fact]
    public async Task Without_a_configured_token_the_server_writes_one_with_mode_0600()
    {
        await using var server = await TestServer.StartAsync(new FakeBackend(), withToken: false);
        var path = Path.Combine(server.DataDir, "admin.token");
        Assert.True(File.Exists(path));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }

        var token = File.ReadAllText(path).Trim();
        var headers = new Metadata { { "authorization", "Bearer " + token } };
        Assert.Empty((await server.Registry.ListTasksAsync(new ListTasksRequest(), headers, cancellationToken: Ct)).Tasks);
        await InferenceEndToEndTests.AssertStatus(StatusCode.PermissionDenied, "wrong", () => server.Registry.ListTasksAsync(new ListTasksRequest(), TestServer.AdminHeaders, cancellationToken: Ct).ResponseAsync);
    }

    [Fact]
    public async Task Bad_uploads_are_refused_and_leave_nothing_behind()
    {
        await using var server = await TestServer.StartAsync(new FakeBackend());
        var good = TestDeltas.Bytes("good", TaskKind.Embedding);

        await InferenceEndToEndTests.AssertStatus(StatusCode.InvalidArgument, "SHA-256", () => server.RegisterAsync("a", good, sha: new string('0', 64)));
        await InferenceEndToEndTests.AssertStatus(StatusCode.InvalidArgument, "declared", () => server.RegisterAsync("a", good, size: (ulong)good.Length + 10));
        await InferenceEndToEndTests.AssertStatus(StatusCode.InvalidArgument, "more than", () => server.RegisterAsync("a", good, size: (ulong)good.Length - 10));
        var junk = "this is not a safetensors file at all, just text"u8.ToArray();
        await InferenceEndToEndTests.AssertStatus(StatusCode.InvalidArgument, "a.ken", () => server.RegisterAsync("a", junk));
        await InferenceEndToEndTests.AssertStatus(StatusCode.InvalidArgument, "not valid", () => server.RegisterAsync("Bad/Name", good));
        await InferenceEndToEndTests.AssertStatus(StatusCode.FailedPrecondition, "another base", () => server.RegisterAsync("a", TestDeltas.Bytes("a", TaskKind.Embedding, mismatch: true)));

        await server.RegisterAsync("a", good);
        await InferenceEndToEndTests.AssertStatus(StatusCode.AlreadyExists, "overwrite", () => server.RegisterAsync("a", good));
        var replaced = await server.RegisterAsync("a", TestDeltas.Bytes("a", TaskKind.Classification), overwrite: true);
        Assert.Equal(Ken.V1.TaskKind.Classification, replaced.Kind);

        Assert.Equal(new[] { "a.ken" }, Directory.GetFiles(Path.Combine(server.DataDir, "tasks")).Select(Path.GetFileName));
    }
}
