using Grpc.Core;
using Grpc.Health.V1;
using Ken.Format;

using Ken.Format.Deltas;
using Ken.V1;

using TaskKind = Ken.Format.Deltas.TaskKind;

namespace Ken.Server.Tests.Serving;

public sealed class InferenceEndToEndTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Classify_and_embed_answer_for_the_requested_task()
    {
        var dataDir = TestServer.NewDataDir();
        TestServer.Seed(dataDir, "sentiment", TaskKind.Classification);
        TestServer.Seed(dataDir, "topic", TaskKind.Classification);
        TestServer.Seed(dataDir, "search", TaskKind.Embedding);
        await using var server = await TestServer.StartAsync(new FakeBackend(), dataDir);

        foreach (var task in new[] { "sentiment", "topic" })
        {
            var reply = await server.Inference.ClassifyAsync(new ClassifyRequest { Task = task, Texts = { "good film", "bad film" } }, cancellationToken: Ct);
            Assert.Equal(2, reply.Results.Count);
            AssertClassification(task, "good film", reply.Results[0]);
            AssertClassification(task, "bad film", reply.Results[1]);
        }

        var top = await server.Inference.ClassifyAsync(new ClassifyRequest { Task = "topic", Texts = { "x" }, TopK = 1 }, cancellationToken: Ct);
        Assert.Single(top.Results[0].Scores);
        Assert.Equal(top.Results[0].Label, top.Results[0].Scores[0].Label);

        var embed = await server.Inference.EmbedAsync(new EmbedRequest { Task = "search", Texts = { "a query" } }, cancellationToken: Ct);
        Assert.Equal(FakeBackend.ExpectedEmbedding("search", "a query"), embed.Embeddings[0].Values);
        Assert.Empty(server.Backend.Violations);
    }

    [Fact]
    public async Task Many_concurrent_clients_across_more_tasks_than_slots_all_get_their_tasks_answers()
    {
        var dataDir = TestServer.NewDataDir();
        var tasks = new[] { "t0", "t1", "t2", "t3", "t4", "t5" };
        foreach (var task in tasks)
        {
            TestServer.Seed(dataDir, task, TaskKind.Embedding);
        }

        await using var server = await TestServer.StartAsync(new FakeBackend(slots: 2, maxBatch: 4), dataDir, true, "--max-batch", "4");
        var calls = new List<Task>();
        for (var client = 0; client < 48; client++)
        {
            var task = tasks[client % tasks.Length];
            var texts = new[] { $"c{client} a", $"c{client} b", $"c{client} c" }.Take(1 + client % 3).ToArray();
            calls.Add(Task.Run(async () =>
            {
                for (var round = 0; round < 3; round++)
                {
                    var reply = await server.Inference.EmbedAsync(new EmbedRequest { Task = task, Texts = { texts } }, cancellationToken: Ct);
                    Assert.Equal(texts.Length, reply.Embeddings.Count);
                    for (var i = 0; i < texts.Length; i++)
                    {
                        Assert.Equal(FakeBackend.ExpectedEmbedding(task, texts[i]), reply.Embeddings[i].Values);
                    }
                }
            }, Ct));
        }

        await Task.WhenAll(calls);
        Assert.Empty(server.Backend.Violations);
        Assert.True(server.Backend.Swaps >= tasks.Length, $"expected at least one swap per task, saw {server.Backend.Swaps}");
        Assert.True(server.Backend.MaxObservedBatch <= 4);

        var list = await server.Registry.ListTasksAsync(new ListTasksRequest(), TestServer.AdminHeaders, cancellationToken: Ct);
        Assert.Equal(48 / tasks.Length * 3, (int)list.Tasks.Single(t => t.Name == "t0").RequestCount);
        Assert.Equal(2, list.Tasks.Count(t => t.Tier == ResidencyTier.Slot));
    }

    [Fact]
    public async Task Expired_requests_get_deadline_exceeded_and_never_run()
    {
        var dataDir = TestServer.NewDataDir();
        TestServer.Seed(dataDir, "a", TaskKind.Embedding);
        TestServer.Seed(dataDir, "b", TaskKind.Embedding);
        var backend = new FakeBackend(slots: 1);
        await using var server = await TestServer.StartAsync(backend, dataDir);

        backend.Gate.Reset();
        var blocker = server.Inference.EmbedAsync(new EmbedRequest { Task = "a", Texts = { "blocker" } }, cancellationToken: Ct).ResponseAsync;
        await backend.RunsStarted.WhenAtLeast(1);

        var late = await Assert.ThrowsAsync<RpcException>(() => server.Inference.EmbedAsync(
            new EmbedRequest { Task = "b", Texts = { "too late" } }, deadline: DateTime.UtcNow.AddMilliseconds(300), cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.DeadlineExceeded, late.StatusCode);

        backend.Gate.Set();
        await blocker;
        var after = await server.Inference.EmbedAsync(new EmbedRequest { Task = "b", Texts = { "in time" } }, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: Ct);
        Assert.Equal(FakeBackend.ExpectedEmbedding("b", "in time"), after.Embeddings[0].Values);
        Assert.DoesNotContain("too late", backend.RunTexts);
    }

    [Fact]
    public async Task A_full_queue_sheds_load_with_resource_exhausted_while_health_stays_serving()
    {
        var dataDir = TestServer.NewDataDir();
        TestServer.Seed(dataDir, "a", TaskKind.Embedding);
        var backend = new FakeBackend(slots: 1, maxBatch: 1);
        await using var server = await TestServer.StartAsync(backend, dataDir, true, "--max-queue", "2", "--max-batch", "1");
        var health = new Health.HealthClient(server.Channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest(), cancellationToken: Ct)).Status);

        var depth = server.WatchQueueDepth();
        backend.Gate.Reset();
        var running = server.Inference.EmbedAsync(new EmbedRequest { Task = "a", Texts = { "r" } }, cancellationToken: Ct).ResponseAsync;
        await backend.RunsStarted.WhenAtLeast(1);
        var queued1 = server.Inference.EmbedAsync(new EmbedRequest { Task = "a", Texts = { "q1" } }, cancellationToken: Ct).ResponseAsync;
        var queued2 = server.Inference.EmbedAsync(new EmbedRequest { Task = "a", Texts = { "q2" } }, cancellationToken: Ct).ResponseAsync;
        await depth.WhenAtLeast(2);

        var shed = await Assert.ThrowsAsync<RpcException>(() => server.Inference.EmbedAsync(new EmbedRequest { Task = "a", Texts = { "x" } }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, shed.StatusCode);
        Assert.Contains("retry with backoff", shed.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest(), cancellationToken: Ct)).Status);

        backend.Gate.Set();
        await Task.WhenAll(running, queued1, queued2);
        Assert.Equal(3, backend.RunsStarted.Value);
    }

    [Fact]
    public async Task Bad_inference_inputs_get_clear_statuses()
    {
        var dataDir = TestServer.NewDataDir();
        TestServer.Seed(dataDir, "sentiment", TaskKind.Classification);
        await using var server = await TestServer.StartAsync(new FakeBackend(), dataDir, true, "--max-texts", "4", "--max-text-chars", "50");

        await AssertStatus(StatusCode.InvalidArgument, "empty", () => server.Inference.ClassifyAsync(new ClassifyRequest { Task = "sentiment", Texts = { "ok", "" } }, cancellationToken: Ct).ResponseAsync);
        await AssertStatus(StatusCode.InvalidArgument, "no texts", () => server.Inference.ClassifyAsync(new ClassifyRequest { Task = "sentiment" }, cancellationToken: Ct).ResponseAsync);
        await AssertStatus(StatusCode.InvalidArgument, "--max-texts", () => server.Inference.ClassifyAsync(new ClassifyRequest { Task = "sentiment", Texts = { "1", "2", "3", "4", "5" } }, cancellationToken: Ct).ResponseAsync);
        await AssertStatus(StatusCode.InvalidArgument, "--max-text-chars", () => server.Inference.ClassifyAsync(new ClassifyRequest { Task = "sentiment", Texts = { new string('x', 51) } }, cancellationToken: Ct).ResponseAsync);
        await AssertStatus(StatusCode.NotFound, "register it", () => server.Inference.ClassifyAsync(new ClassifyRequest { Task = "nope", Texts = { "x" } }, cancellationToken: Ct).ResponseAsync);
        await AssertStatus(StatusCode.InvalidArgument, "call Classify", () => server.Inference.EmbedAsync(new EmbedRequest { Task = "sentiment", Texts = { "x" } }, cancellationToken: Ct).ResponseAsync);
        await AssertStatus(StatusCode.InvalidArgument, "not valid", () => server.Inference.ClassifyAsync(new ClassifyRequest { Task = "Bad Name", Texts = { "x" } }, cancellationToken: Ct).ResponseAsync);
    }

    [Fact]
    public async Task Metrics_endpoint_serves_ken_metrics_over_http1()
    {
        var dataDir = TestServer.NewDataDir();
        TestServer.Seed(dataDir, "search", TaskKind.Embedding);
        await using var server = await TestServer.StartAsync(new FakeBackend(), dataDir);
        await server.Inference.EmbedAsync(new EmbedRequest { Task = "search", Texts = { "x" } }, cancellationToken: Ct);

        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri(server.MetricsAddress + "/metrics"), Ct);
        foreach (var name in new[] { "ken_requests_total", "ken_request_duration_seconds", "ken_queue_wait_seconds", "ken_batch_size", "ken_swaps_total", "ken_swap_duration_seconds", "ken_tasks", "ken_resident_bytes", "ken_queue_depth" })
        {
            Assert.Contains(name, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_backbone_that_fails_its_start_up_check_never_serves()
    {
        var backend = new FakeBackend { CheckFailure = new Ken.Format.KenException("backbone gives NaN") };
        var error = await Assert.ThrowsAsync<Ken.Format.KenException>(() => TestServer.StartAsync(backend));
        Assert.Contains("NaN", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Shutdown_lets_the_request_in_flight_finish_and_refuses_new_ones()
    {
        var dataDir = TestServer.NewDataDir();
        TestServer.Seed(dataDir, "a", TaskKind.Embedding);
        var backend = new FakeBackend(slots: 1);
        await using var server = await TestServer.StartAsync(backend, dataDir);

        backend.Gate.Reset();
        var inFlight = server.Inference.EmbedAsync(new EmbedRequest { Task = "a", Texts = { "in flight" } }, cancellationToken: Ct).ResponseAsync;
        await backend.RunsStarted.WhenAtLeast(1);

        var stopping = server.StopAsync();
        // Stopping has begun (admission closed) but cannot finish while the request runs (the gate holds it).
        await server.Scheduler.AdmissionClosed.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.False(stopping.IsCompleted);
        var refused = await Assert.ThrowsAsync<RpcException>(() => server.Inference.EmbedAsync(new EmbedRequest { Task = "a", Texts = { "new" } }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);

        backend.Gate.Set();
        var reply = await inFlight;
        Assert.Equal(FakeBackend.ExpectedEmbedding("a", "in flight"), reply.Embeddings[0].Values);
        await stopping;
        Assert.DoesNotContain("new", backend.RunTexts);
    }

    internal static async Task AssertStatus(StatusCode expected, string messagePart, Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(expected == error.StatusCode, $"expected {expected}, got {error.StatusCode}: {error.Status.Detail}");
        Assert.Contains(messagePart, error.Status.Detail, StringComparison.Ordinal);
    }

    private static void AssertClassification(string task, string text, Classification result)
    {
        var expected = FakeBackend.ExpectedScores(task, text, TestDeltas.Labels.Length);
        var best = Array.IndexOf(expected, expected.Max());
        Assert.Equal(TestDeltas.Labels[best], result.Label);
        Assert.Equal(expected[best], result.Score);
        Assert.Equal(TestDeltas.Labels, result.Scores.Select(s => s.Label));
        Assert.Equal(expected, result.Scores.Select(s => s.Score));
    }
}
