using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Configuration;
using Ken.Client;
using Ken.Deploy.Tests.Support;
using Ken.V1;

namespace Ken.Deploy.Tests.Routing;

/// <summary>
/// Three replicas behind HAProxy on deploy/haproxy/haproxy.cfg: the proxy sends each task to one
/// replica, and when that replica dies (kill -9) its tasks move to another after at most a few
/// failed attempts that the client's retry absorbs, and come back when it restarts.
/// </summary>
public sealed class TaskAffineRoutingTests(ReplicaSetFixture fx) : IClassFixture<ReplicaSetFixture>
{
    private const string Requests = "ken_requests_total";

    private static readonly string[] Texts = [.. Enumerable.Range(0, 10).Select(i => string.Create(CultureInfo.InvariantCulture, $"request number {i}: the weather in the {(i % 2 == 0 ? "north" : "south")} turns cold"))];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Each_task_is_served_by_exactly_one_replica_and_answers_as_a_direct_call()
    {
        fx.SkipIfUnavailable();
        using var direct = new KenClient(new KenClientOptions { Address = fx.Replicas[0].Address, MaxRetries = 0 });
        var expected = new Dictionary<(string, string), ClassifyResponse>();
        foreach (string task in ReplicaSetFixture.TaskNames)
        {
            foreach (string text in Texts)
            {
                expected[(task, text)] = await direct.ClassifyAsync(task, [text], cancellationToken: Ct);
            }
        }

        var before = await fx.ScrapeAsync(Ct);

        // One request in flight at a time, the tasks interleaved. With requests in flight at once, the
        // bounded loads (hash-balance-factor) may send some to the next replica on purpose; that is
        // A_hot_task_spills_over_to_the_next_replica_under_concurrent_load.
        for (int i = 0; i < 50; i++)
        {
            string text = Texts[i % Texts.Length];
            foreach (string task in ReplicaSetFixture.TaskNames)
            {
                var reply = await fx.ProxyClient.ClassifyAsync(task, [text], cancellationToken: Ct);
                AssertSameAnswer(expected[(task, text)], reply);
            }
        }

        var after = await fx.ScrapeAsync(Ct);
        var owners = new HashSet<int>();
        foreach (string task in ReplicaSetFixture.TaskNames)
        {
            double[] served = [.. Enumerable.Range(0, fx.Replicas.Count).Select(r => after[r].Sum(Requests, ("task", task)) - before[r].Sum(Requests, ("task", task)))];
            Assert.Equal(50, served.Sum());
            int owner = Assert.Single(Enumerable.Range(0, served.Length), r => served[r] > 0);
            owners.Add(owner);
        }

        // The ring spreads the eight tasks over more than one replica.
        Assert.True(owners.Count > 1, "every task hashed to one replica");
    }

    [Fact]
    public async Task A_killed_replicas_tasks_move_to_another_replica_and_come_back_when_it_restarts()
    {
        fx.SkipIfUnavailable();
        var output = TestContext.Current.TestOutputHelper;

        // Which replica serves which task now.
        var owner = await OwnersAsync();
        var victim = fx.Replicas.OrderByDescending(r => owner.Count(o => o.Value == r)).First();
        string[] tasks = [.. owner.Where(o => o.Value == victim).Select(o => o.Key)];
        int victimIndex = fx.Replicas.ToList().IndexOf(victim);

        // The client's own retry policy (KenClient's defaults) over a handler that counts failed attempts.
        var counter = new AttemptCounter();
        using var channel = GrpcChannel.ForAddress(fx.ProxyAddress, new GrpcChannelOptions
        {
            HttpHandler = counter,
            MaxRetryAttempts = 4,
            ServiceConfig = new ServiceConfig
            {
                MethodConfigs =
                {
                    new MethodConfig
                    {
                        Names = { MethodName.Default },
                        RetryPolicy = new RetryPolicy
                        {
                            MaxAttempts = 4,
                            InitialBackoff = TimeSpan.FromMilliseconds(100),
                            MaxBackoff = TimeSpan.FromSeconds(2),
                            BackoffMultiplier = 2,
                            RetryableStatusCodes = { StatusCode.Unavailable },
                        },
                    },
                },
            },
        });
        using var client = new KenClient(channel, new KenClientOptions { Timeout = TimeSpan.FromSeconds(30) });

        // Load on the victim's tasks, one request in flight (so bounded loads never spill them): the
        // loop counts its successes and signals when it reaches a mark.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var start = await fx.ScrapeAsync(Ct);
        var loop = new LoadLoop(client, tasks);
        var running = loop.RunAsync(stop.Token);
        await loop.ReachedAsync(2 * tasks.Length);

        var beforeKill = await fx.ScrapeAsync(Ct);
        foreach (string task in tasks)
        {
            Assert.True(beforeKill[victimIndex].Sum(Requests, ("task", task)) > start[victimIndex].Sum(Requests, ("task", task)), $"{task} was not served by {victim.Name} before the kill");
            Assert.All(Enumerable.Range(0, fx.Replicas.Count).Where(r => r != victimIndex), r => Assert.Equal(start[r].Sum(Requests, ("task", task)), beforeKill[r].Sum(Requests, ("task", task))));
        }

        var down = fx.Proxy.ServerStateAsync("ken_inference", victim.Name, "DOWN");
        await ReplicaSetFixture.KillAsync(victim);
        await down.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        // The loop goes on succeeding: 20 more requests per task after the proxy took the victim out.
        await loop.ReachedAsync(loop.Succeeded + (20 * tasks.Length));
        await stop.CancelAsync();
        await running;
        int failures = counter.Failures;
        output?.WriteLine($"victim {victim.Name} ({string.Join(", ", tasks)}): {loop.Succeeded} requests succeeded, {failures} of {counter.Attempts} attempts failed and were retried");

        // The survivors served the victim's tasks.
        var afterKill = await ScrapeSurvivorsAsync(victimIndex);
        foreach (string task in tasks)
        {
            double moved = Enumerable.Range(0, fx.Replicas.Count).Where(r => r != victimIndex).Sum(r => afterKill[r]!.Sum(Requests, ("task", task)) - beforeKill[r].Sum(Requests, ("task", task)));
            Assert.True(moved >= 20, $"{task}: survivors served {moved} requests after the kill");
        }

        // A few attempts in flight or sent before the proxy noticed may fail; the retry absorbs them.
        Assert.InRange(failures, 0, 3);

        // The counter does see a failed attempt: an unknown task is one NOT_FOUND, not retried.
        var unknown = await Assert.ThrowsAsync<RpcException>(() => client.ClassifyAsync("no-such-task", ["x"], cancellationToken: Ct));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(failures + 1, counter.Failures);

        // Restart: the proxy's check brings it back into the ring, and its tasks return to it.
        var up = fx.Proxy.ServerStateAsync("ken_inference", victim.Name, "UP");
        await fx.RestartAsync(victim, Ct);
        await up.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        var rejoined = await PrometheusScrape.ReadAsync(fx.Http, victim.MetricsUrl, Ct);
        foreach (string task in tasks)
        {
            for (int i = 0; i < 10; i++)
            {
                await fx.ProxyClient.ClassifyAsync(task, [Texts[i]], cancellationToken: Ct);
            }
        }

        var served = await PrometheusScrape.ReadAsync(fx.Http, victim.MetricsUrl, Ct);
        foreach (string task in tasks)
        {
            Assert.Equal(10, served.Sum(Requests, ("task", task)) - rejoined.Sum(Requests, ("task", task)));
        }
    }

    [Fact]
    public async Task A_hot_task_spills_over_to_the_next_replica_under_concurrent_load()
    {
        fx.SkipIfUnavailable();
        const string task = "cls-0";
        string[] texts = [.. Enumerable.Range(0, 32).Select(i => Texts[i % Texts.Length])];
        var before = await fx.ScrapeAsync(Ct);

        // 16 requests of 32 texts each in flight at once, all for one task: more than 150 % of the
        // average load on its replica, so the proxy sends the excess to the next one on the ring.
        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => fx.ProxyClient.ClassifyAsync(task, texts, cancellationToken: Ct)));

        var after = await fx.ScrapeAsync(Ct);
        double[] served = [.. Enumerable.Range(0, fx.Replicas.Count).Select(r => after[r].Sum(Requests, ("task", task)) - before[r].Sum(Requests, ("task", task)))];
        Assert.Equal(16, served.Sum());
        Assert.True(served.Count(s => s > 0) > 1, $"all 16 concurrent requests went to one replica: {string.Join(", ", served)}");
    }

    [Fact]
    public async Task A_task_registered_and_unregistered_through_the_proxy_reaches_every_replica()
    {
        fx.SkipIfUnavailable();
        const string task = "through-proxy";

        // Registry calls go to any one replica; the shared store carries the task to the others.
        await fx.ProxyClient.RegisterAsync(fx.DeltaPaths["cls-1"], task, cancellationToken: Ct);
        var expected = await fx.ProxyClient.ClassifyAsync("cls-1", [Texts[3]], cancellationToken: Ct);
        foreach (var replica in fx.Replicas)
        {
            using var direct = new KenClient(new KenClientOptions { Address = replica.Address, MaxRetries = 0 });
            var reply = await direct.ClassifyAsync(task, [Texts[3]], cancellationToken: Ct);
            Assert.Equal(expected.Results[0].Label, reply.Results[0].Label);
            Assert.Equal(expected.Results[0].Score, reply.Results[0].Score, 1e-6f);
        }

        // Unregistered through the proxy: every replica answers NOT_FOUND once its poll of the store
        // (--registry-poll-ms, 500 ms) has seen it, which the issue bounds at 2 s.
        var unregistered = System.Diagnostics.Stopwatch.StartNew();
        await fx.ProxyClient.UnregisterAsync(task, Ct);
        foreach (var replica in fx.Replicas)
        {
            using var direct = new KenClient(new KenClientOptions { Address = replica.Address, MaxRetries = 0 });
            await NotFoundWithinAsync(direct, task, unregistered, TimeSpan.FromSeconds(2));
        }
    }

    /// <summary>Polls the replica (the store is polled too) until it answers NOT_FOUND, failing past <paramref name="limit"/> since <paramref name="since"/>.</summary>
    private static async Task NotFoundWithinAsync(KenClient client, string task, System.Diagnostics.Stopwatch since, TimeSpan limit)
    {
        while (true)
        {
            try
            {
                await client.ClassifyAsync(task, [Texts[0]], cancellationToken: Ct);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
                return;
            }

            Assert.True(since.Elapsed < limit, $"{client.Address} still serves {task} {since.Elapsed.TotalSeconds:F1} s after it was unregistered");
        }
    }

    private static void AssertSameAnswer(ClassifyResponse expected, ClassifyResponse actual)
    {
        Assert.Equal(expected.Task, actual.Task);
        var want = Assert.Single(expected.Results);
        var got = Assert.Single(actual.Results);
        Assert.Equal(want.Label, got.Label);
        Assert.Equal(want.Scores.Select(s => s.Label), got.Scores.Select(s => s.Label));
        foreach (var (w, g) in want.Scores.Zip(got.Scores))
        {
            Assert.Equal(w.Score, g.Score, 1e-6f);
        }
    }

    /// <summary>One request per task through the proxy, and the replica whose counter moved.</summary>
    private async Task<Dictionary<string, Replica>> OwnersAsync()
    {
        var before = await fx.ScrapeAsync(Ct);
        foreach (string task in ReplicaSetFixture.TaskNames)
        {
            await fx.ProxyClient.ClassifyAsync(task, [Texts[0]], cancellationToken: Ct);
        }

        var after = await fx.ScrapeAsync(Ct);
        return ReplicaSetFixture.TaskNames.ToDictionary(
            task => task,
            task => fx.Replicas[Assert.Single(Enumerable.Range(0, fx.Replicas.Count), r => after[r].Sum(Requests, ("task", task)) > before[r].Sum(Requests, ("task", task)))]);
    }

    private async Task<PrometheusScrape?[]> ScrapeSurvivorsAsync(int dead) =>
        await Task.WhenAll(fx.Replicas.Select((r, i) => i == dead ? Task.FromResult<PrometheusScrape?>(null) : ReadAsync(r)));

    private async Task<PrometheusScrape?> ReadAsync(Replica replica) => await PrometheusScrape.ReadAsync(fx.Http, replica.MetricsUrl, Ct);
}
