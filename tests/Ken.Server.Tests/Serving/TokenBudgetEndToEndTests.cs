using Ken.V1;

using TaskKind = Ken.Format.Deltas.TaskKind;

namespace Ken.Server.Tests.Serving;

/// <summary>
/// <c>--max-batch-tokens</c> over gRPC: the <see cref="FakeTokenizer"/> gives one token per word plus two,
/// so a 30-word text has 32 tokens and a one-word text 3.
/// </summary>
public sealed class TokenBudgetEndToEndTests
{
    private static readonly string LongText = string.Join(' ', Enumerable.Range(0, 30).Select(i => "w" + i));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_long_text_does_not_pad_short_ones_it_runs_in_its_own_batch()
    {
        var dataDir = TestServer.NewDataDir();
        TestServer.Seed(dataDir, "hold", TaskKind.Embedding);
        TestServer.Seed(dataDir, "b", TaskKind.Embedding);
        var backend = new FakeBackend(slots: 1, maxBatch: 8);
        await using var server = await TestServer.StartAsync(backend, dataDir, true, "--max-batch", "8", "--max-batch-tokens", "40");
        var depth = server.WatchQueueDepth();

        // Hold the only slot so that every request below is queued before any batch forms.
        backend.Gate.Reset();
        var blocker = Embed(server, "hold", "blocker");
        await backend.RunsStarted.WhenAtLeast(1);
        var calls = new List<Task<EmbedResponse>> { Embed(server, "b", LongText) };
        await depth.WhenAtLeast(1);
        foreach (var text in new[] { "s1", "s2", "s3" })
        {
            calls.Add(Embed(server, "b", text));
        }

        await depth.WhenAtLeast(4);
        backend.Gate.Set();
        await blocker;
        var replies = await Task.WhenAll(calls);

        Assert.Equal(FakeBackend.ExpectedEmbedding("b", LongText), replies[0].Embeddings[0].Values);
        Assert.Equal(FakeBackend.ExpectedEmbedding("b", "s3"), replies[3].Embeddings[0].Values);
        var batches = backend.Batches.Skip(1).ToArray();
        Assert.Equal(2, batches.Length);
        Assert.Equal([LongText], batches[0]);
        Assert.Equal(["s1", "s2", "s3"], batches[1].Order());
        Assert.Empty(backend.Violations);
    }

    [Fact]
    public async Task A_request_over_the_token_budget_runs_alone_in_runs_that_fit()
    {
        var dataDir = TestServer.NewDataDir();
        TestServer.Seed(dataDir, "b", TaskKind.Embedding);
        var backend = new FakeBackend(slots: 1, maxBatch: 8);
        await using var server = await TestServer.StartAsync(backend, dataDir, true, "--max-batch", "8", "--max-batch-tokens", "40");

        string[] texts = [LongText, LongText + " x", "short", LongText + " y"];
        var reply = await Embed(server, "b", texts);

        Assert.Equal(texts.Select(t => FakeBackend.ExpectedEmbedding("b", t)), reply.Embeddings.Select(e => e.Values.ToArray()));
        Assert.All(backend.Batches, batch => Assert.Single(batch));
        Assert.Equal(4, backend.Batches.Count);
    }

    [Fact]
    public async Task The_token_budget_flag_is_validated_at_start_up()
    {
        var error = await Assert.ThrowsAsync<Ken.Format.KenException>(() => TestServer.StartAsync(new FakeBackend(), null, true, "--max-batch-tokens", "0"));
        Assert.Contains("--max-batch-tokens", error.Message, StringComparison.Ordinal);
    }

    private static Task<EmbedResponse> Embed(TestServer server, string task, params string[] texts) =>
        server.Inference.EmbedAsync(new EmbedRequest { Task = task, Texts = { texts } }, cancellationToken: Ct).ResponseAsync;
}
