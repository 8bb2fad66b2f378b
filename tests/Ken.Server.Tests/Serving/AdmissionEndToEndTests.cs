using System.Globalization;

using Grpc.Core;
using Ken.Server.Api;
using Ken.V1;

using TaskKind = Ken.Format.Deltas.TaskKind;

namespace Ken.Server.Tests.Serving;

/// <summary>Admission by estimated wait (<c>--max-queue-wait-ms</c>) over loopback gRPC, on a slow fake backend.</summary>
public sealed class AdmissionEndToEndTests
{
    private const int MaxWaitMs = 300;
    private const int BatchTexts = 4;
    private static readonly TimeSpan RunTime = TimeSpan.FromMilliseconds(40);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_overloaded_server_refuses_with_resource_exhausted_and_a_pushback_while_admitted_requests_wait_within_the_bound()
    {
        var dataDir = TestServer.NewDataDir();
        TestServer.Seed(dataDir, "slow", TaskKind.Embedding);
        var backend = new FakeBackend(slots: 1, maxBatch: BatchTexts) { RunTime = RunTime };
        await using var server = await TestServer.StartAsync(
            backend, dataDir, true, "--max-queue-wait-ms", MaxWaitMs.ToString(CultureInfo.InvariantCulture), "--max-batch", BatchTexts.ToString(CultureInfo.InvariantCulture));

        // Full batches measure the backend's rate (about 10 ms a text) before the burst.
        for (var i = 0; i < 3; i++)
        {
            await server.Inference.EmbedAsync(new EmbedRequest { Task = "slow", Texts = { "w1", "w2", "w3", "w4" } }, cancellationToken: Ct);
        }

        // 100 single-text requests at once: 1 s of work, over three times what 300 ms admits.
        var calls = Enumerable.Range(0, 100).Select(i => Call(server, "t" + i.ToString(CultureInfo.InvariantCulture))).ToArray();
        var outcomes = await Task.WhenAll(calls);

        var admitted = outcomes.Where(o => o.Status == StatusCode.OK).ToArray();
        var refused = outcomes.Where(o => o.Status != StatusCode.OK).ToArray();
        Assert.NotEmpty(admitted);
        Assert.NotEmpty(refused);
        Assert.All(refused, o =>
        {
            Assert.Equal(StatusCode.ResourceExhausted, o.Status);
            Assert.Contains("--max-queue-wait-ms", o.Detail, StringComparison.Ordinal);
            Assert.True(o.PushbackMs > 0, $"a refusal without a {ErrorMappingInterceptor.RetryPushbackTrailer} trailer: {o.Detail}");
        });

        // The server's own measure of each admitted request's queue wait: within the limit plus one batch
        // (the batch already running when it was admitted), and one more batch for the estimate's smoothing.
        var bound = MaxWaitMs + (2 * RunTime.TotalMilliseconds);
        Assert.All(admitted, o => Assert.InRange(o.QueueWaitMs, 0, bound));
        Assert.Empty(backend.Violations);

        // Refusing spent nothing on the refused: the server answers the next request as before.
        var after = await Call(server, "after");
        Assert.Equal(StatusCode.OK, after.Status);
    }

    [Fact]
    public async Task The_queue_wait_trailer_reports_at_least_the_time_the_request_was_held_in_its_queue()
    {
        var dataDir = TestServer.NewDataDir();
        TestServer.Seed(dataDir, "slow", TaskKind.Embedding);
        var backend = new FakeBackend(slots: 1, maxBatch: 1);
        await using var server = await TestServer.StartAsync(backend, dataDir, true, "--max-batch", "1");
        var depth = server.WatchQueueDepth();

        backend.Gate.Reset();
        var running = Call(server, "running");
        await backend.RunsStarted.WhenAtLeast(1);
        var queued = Call(server, "queued");
        await depth.WhenAtLeast(1);

        // At least this long in the queue: from when the test saw it queued until the slot is let go.
        var held = System.Diagnostics.Stopwatch.StartNew();
        var health = new Grpc.Health.V1.Health.HealthClient(server.Channel);
        await health.CheckAsync(new Grpc.Health.V1.HealthCheckRequest(), cancellationToken: Ct);
        var lowerBound = held.ElapsedMilliseconds;
        backend.Gate.Set();

        Assert.Equal(StatusCode.OK, (await running).Status);
        var outcome = await queued;
        Assert.Equal(StatusCode.OK, outcome.Status);
        Assert.InRange(outcome.QueueWaitMs, lowerBound, long.MaxValue);
    }

    private static async Task<Outcome> Call(TestServer server, string text)
    {
        using var call = server.Inference.EmbedAsync(new EmbedRequest { Task = "slow", Texts = { text } }, cancellationToken: Ct);
        try
        {
            var reply = await call.ResponseAsync;
            Assert.Equal(FakeBackend.ExpectedEmbedding("slow", text), reply.Embeddings[0].Values);
            return new Outcome(StatusCode.OK, "", 0, Number(call.GetTrailers(), InferenceService.QueueWaitTrailer) ?? -1);
        }
        catch (RpcException e)
        {
            return new Outcome(e.StatusCode, e.Status.Detail, Number(e.Trailers, ErrorMappingInterceptor.RetryPushbackTrailer) ?? -1, 0);
        }
    }

    private static long? Number(Metadata trailers, string key) =>
        trailers.GetValue(key) is { } text ? long.Parse(text, CultureInfo.InvariantCulture) : null;

    private sealed record Outcome(StatusCode Status, string Detail, long PushbackMs, long QueueWaitMs);
}
