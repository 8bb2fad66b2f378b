using Ken.V1;

using TaskKind = Ken.Format.Deltas.TaskKind;

namespace Ken.Server.Tests.Serving;

/// <summary>Executors apart from slots: slots cache tasks beyond the executors that run them, and executors run at once.</summary>
public sealed class ExecutorsEndToEndTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task One_executor_over_three_slots_keeps_three_tasks_materialized_and_swaps_each_once()
    {
        var dataDir = TestServer.NewDataDir();
        foreach (var task in new[] { "a", "b", "c" })
        {
            TestServer.Seed(dataDir, task, TaskKind.Embedding);
        }

        using var backend = new FakeBackend(slots: 3);
        await using var server = await TestServer.StartAsync(backend, dataDir, true, "--executors", "1");
        Assert.Equal(1, server.Scheduler.ExecutorCount);

        foreach (var task in new[] { "a", "b", "c", "a", "b", "c", "a" })
        {
            var reply = await server.Inference.EmbedAsync(new EmbedRequest { Task = task, Texts = { "text" } }, cancellationToken: Ct);
            Assert.Equal(FakeBackend.ExpectedEmbedding(task, "text"), reply.Embeddings[0].Values);
        }

        Assert.Equal(3, backend.Swaps);
        Assert.Equal(3, backend.Slots.Count(slot => slot.Task is not null));
        Assert.Empty(backend.Violations);
    }

    [Fact]
    public async Task Two_executors_run_two_batches_at_once_on_different_slots()
    {
        var dataDir = TestServer.NewDataDir();
        TestServer.Seed(dataDir, "a", TaskKind.Embedding);
        TestServer.Seed(dataDir, "b", TaskKind.Embedding);
        using var backend = new FakeBackend(slots: 3);
        await using var server = await TestServer.StartAsync(backend, dataDir, true, "--executors", "2");

        backend.Gate.Reset();
        var first = server.Inference.EmbedAsync(new EmbedRequest { Task = "a", Texts = { "one" } }, cancellationToken: Ct).ResponseAsync;
        var second = server.Inference.EmbedAsync(new EmbedRequest { Task = "b", Texts = { "two" } }, cancellationToken: Ct).ResponseAsync;

        // Both runs start while the first is still blocked: only two executors can do that.
        await backend.RunsStarted.WhenAtLeast(2).WaitAsync(Ct);
        backend.Gate.Set();
        await Task.WhenAll(first, second);
        Assert.Empty(backend.Violations);
    }
}
