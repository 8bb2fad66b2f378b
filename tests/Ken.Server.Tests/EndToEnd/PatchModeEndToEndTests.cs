using Grpc.Health.V1;
using Ken.Format.Deltas;
using Ken.Runtime.Tests.Backbone;
using Ken.Runtime.Tests.Backends;
using Ken.V1;

namespace Ken.Server.Tests.EndToEnd;

/// <summary>The real patching backend on minilm behind real gRPC on loopback.</summary>
[Collection(BackboneTestGroup.Name)]
public sealed class PatchModeEndToEndTests(PatchServerFixture fixture) : IClassFixture<PatchServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_task_answers_over_grpc_as_the_runtime_does_in_process()
    {
        var health = new Health.HealthClient(fixture.Server.Channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest(), cancellationToken: Ct)).Status);

        foreach (var task in fixture.Tasks)
        {
            // One call with every text (padded batches) and one with a single text.
            await ServedAnswers.AskAndCheckAsync(fixture, task, ServedTasks.Texts.Take(4).ToArray(), ServedAnswers.Tolerance, Ct);
            await ServedAnswers.AskAndCheckAsync(fixture, task, [ServedTasks.Texts[^1]], ServedAnswers.Tolerance, Ct);
        }

        var list = await fixture.Server.Registry.ListTasksAsync(new ListTasksRequest(), Serving.TestServer.AdminHeaders, cancellationToken: Ct);
        Assert.Equal(fixture.Tasks.Select(t => t.Metadata.Task).Order(), list.Tasks.Select(t => t.Name).Order());
        Assert.All(list.Tasks, t => Assert.Equal("minilm", t.BaseModel));
    }

    [Fact]
    public void The_tasks_weights_differ_so_a_mixed_up_swap_would_show()
    {
        var text = ServedTasks.Texts[0];
        var embeddings = fixture.Tasks.Where(t => t.Metadata.Kind == Ken.Format.Deltas.TaskKind.Embedding).Select(t => t.Metadata.Task).ToArray();
        Assert.True(embeddings.Length >= 3);
        foreach (var a in embeddings)
        {
            foreach (var b in embeddings.Where(b => b != a))
            {
                var x = fixture.Expected(a, text).Embeddings![0];
                var y = fixture.Expected(b, text).Embeddings![0];
                Assert.True(x.Zip(y, (p, q) => Math.Abs(p - q)).Max() > 100 * ServedAnswers.Tolerance, $"{a} and {b} answer alike");
            }
        }
    }

    [Fact]
    public async Task Concurrent_clients_across_more_tasks_than_slots_each_get_their_own_tasks_answers()
    {
        // 5 tasks on 2 slots, 8 callers at once, 4 requests each: slots swap under load, and every
        // answer must still come from its own task's weights and head.
        var callers = new List<Task>();
        for (var caller = 0; caller < 8; caller++)
        {
            var id = caller;
            callers.Add(Task.Run(async () =>
            {
                for (var round = 0; round < 4; round++)
                {
                    var task = fixture.Tasks[(id + round) % fixture.Tasks.Count];
                    var first = (id * 3 + round) % ServedTasks.Texts.Count;
                    var texts = Enumerable.Range(0, 1 + ((id + round) % 3)).Select(i => ServedTasks.Texts[(first + i) % ServedTasks.Texts.Count]).ToArray();
                    await ServedAnswers.AskAndCheckAsync(fixture, task, texts, ServedAnswers.Tolerance, Ct);
                }
            }, Ct));
        }

        await Task.WhenAll(callers);

        var list = await fixture.Server.Registry.ListTasksAsync(new ListTasksRequest(), Serving.TestServer.AdminHeaders, cancellationToken: Ct);
        Assert.True(list.Tasks.Sum(t => (long)t.SwapCount) >= fixture.Tasks.Count, "every task had to be swapped in at least once");
        Assert.True(list.Tasks.Count(t => t.Tier == ResidencyTier.Slot) <= 2);
    }

    [Fact]
    public async Task Overwriting_a_task_every_200_ms_while_8_callers_classify_never_mixes_versions_in_a_reply()
    {
        // Two real versions of one task name: different weights and different heads (3 labels against 2).
        var versions = new[] { "ffn-sentiment", "low-topic" }.Select(name => fixture.Tasks.Single(t => t.Metadata.Task == name)).ToArray();
        var files = versions.Select(v => FileOf(v, "flip")).ToArray();
        var servedBy = new System.Collections.Concurrent.ConcurrentDictionary<ulong, KenDelta>();
        var replies = new System.Collections.Concurrent.ConcurrentQueue<(string[] Texts, ClassifyResponse Reply)>();
        var first = await fixture.Server.RegisterAsync("flip", files[0], chunkSize: 1 << 20);
        servedBy[first.Generation] = versions[0];
        try
        {
            using var overwriting = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            var callers = Enumerable.Range(0, 8).Select(id => Task.Run(async () =>
            {
                for (var round = 0; !overwriting.IsCancellationRequested; round++)
                {
                    var texts = Enumerable.Range(0, 1 + ((id + round) % 3)).Select(i => ServedTasks.Texts[(id + round + i) % ServedTasks.Texts.Count]).ToArray();
                    var reply = await fixture.Server.Inference.ClassifyAsync(new ClassifyRequest { Task = "flip", Texts = { texts } }, cancellationToken: Ct);
                    replies.Enqueue((texts, reply));
                }
            }, Ct)).ToArray();

            // The load's pace, not a wait for an event: one overwrite every 200 ms, alternating the versions.
            using (var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(200)))
            {
                for (var n = 1; n <= 8; n++)
                {
                    await pace.WaitForNextTickAsync(Ct);
                    var info = await fixture.Server.RegisterAsync("flip", files[n % 2], overwrite: true, chunkSize: 1 << 20);
                    Assert.True(servedBy.TryAdd(info.Generation, versions[n % 2]), $"generation {info.Generation} was given twice");
                }
            }

            await overwriting.CancelAsync();
            await Task.WhenAll(callers);
        }
        finally
        {
            await fixture.Server.Registry.UnregisterTaskAsync(new UnregisterTaskRequest { Name = "flip" }, Serving.TestServer.AdminHeaders, cancellationToken: Ct);
        }

        // Every reply names a generation the registry gave, and each of its results is that version's answer.
        var generations = new HashSet<ulong>();
        foreach (var (texts, reply) in replies)
        {
            Assert.True(servedBy.TryGetValue(reply.Generation, out var version), $"a reply names generation {reply.Generation}, which no registration returned");
            generations.Add(reply.Generation);
            Assert.Equal(texts.Length, reply.Results.Count);
            for (var i = 0; i < texts.Length; i++)
            {
                var expected = fixture.Expected(version.Metadata.Task, texts[i]).Classifications![0];
                var served = reply.Results[i];
                Assert.Equal(version.Metadata.Labels, served.Scores.Select(s => s.Label));
                for (var l = 0; l < expected.Scores.Length; l++)
                {
                    Assert.True(Math.Abs(expected.Scores[l] - served.Scores[l].Score) <= ServedAnswers.Tolerance, $"generation {reply.Generation}, text {i}: not {version.Metadata.Task}'s answer");
                }
            }
        }

        Assert.True(generations.Count >= 3, $"the callers saw only {generations.Count} versions; the overwrites did not overlap the load");
    }

    private static byte[] FileOf(KenDelta delta, string name)
    {
        var folder = Directory.CreateTempSubdirectory("ken-flip-").FullName;
        try
        {
            var path = Path.Combine(folder, name + ".ken");
            KenDeltaWriter.Write(path, delta with { Metadata = delta.Metadata with { Task = name } });
            return File.ReadAllBytes(path);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
