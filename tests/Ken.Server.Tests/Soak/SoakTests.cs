using System.Collections.Concurrent;
using System.Diagnostics;

using Grpc.Core;
using Ken.Server.Tests.Serving;
using Ken.V1;

using TaskKind = Ken.Format.Deltas.TaskKind;

namespace Ken.Server.Tests.Soak;

[CollectionDefinition(nameof(SoakTests), DisableParallelization = true)]
public sealed class SoakTestGroup;

/// <summary>
/// A short soak (the 60-second version of bench/soak.sh): the real minilm server in this process under
/// mixed Classify/Embed load while tasks are registered, overwritten and unregistered every second.
/// Runs alone, so this process's memory, threads and open files are the server's and the load's.
/// </summary>
[Collection(nameof(SoakTests))]
public sealed class SoakTests
{
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Measured = TimeSpan.FromSeconds(30);
    private static readonly string[] Texts = ["soak one", "a second, longer text for the soak test", "third", "the fourth text of the mixed load"];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Mixed_load_with_registry_churn_has_no_unexpected_errors_and_flat_threads_and_open_files()
    {
        var versions = new Dictionary<string, byte[][]>
        {
            ["soak-cls"] = [SoakDeltas.Bytes("soak-cls", TaskKind.Classification, 1), SoakDeltas.Bytes("soak-cls", TaskKind.Classification, 2)],
            ["soak-emb"] = [SoakDeltas.Bytes("soak-emb", TaskKind.Embedding, 1), SoakDeltas.Bytes("soak-emb", TaskKind.Embedding, 2)],
        };
        var churn = SoakDeltas.Bytes("churn", TaskKind.Embedding, 3);
        var dataDir = TestServer.NewDataDir();
        await using var server = await TestServer.StartRealAsync(dataDir, Ct, "--model", "minilm", "--swap-mode", "patch", "--slots", "2", "--max-batch", "8");
        foreach (var (name, files) in versions)
        {
            await server.RegisterAsync(name, files[0], chunkSize: 1 << 20);
        }

        var unexpected = new ConcurrentQueue<string>();
        long answered = 0, churned = 0;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var callers = Enumerable.Range(0, 4).Select(id => Task.Run(async () =>
        {
            for (var round = 0; !stop.IsCancellationRequested; round++)
            {
                var texts = Texts.Take(1 + ((id + round) % Texts.Length)).ToArray();
                try
                {
                    if ((id + round) % 2 == 0)
                    {
                        var reply = await server.Inference.ClassifyAsync(new ClassifyRequest { Task = "soak-cls", Texts = { texts } }, cancellationToken: Ct);
                        Check(reply.Results.Count == texts.Length && reply.Generation > 0, "a Classify reply with the wrong shape", unexpected);
                    }
                    else
                    {
                        var reply = await server.Inference.EmbedAsync(new EmbedRequest { Task = "soak-emb", Texts = { texts } }, cancellationToken: Ct);
                        Check(reply.Embeddings.Count == texts.Length && reply.Generation > 0, "an Embed reply with the wrong shape", unexpected);
                    }

                    Interlocked.Increment(ref answered);
                }
                catch (RpcException e)
                {
                    unexpected.Enqueue($"inference: {e.StatusCode} {e.Status.Detail}");
                }
            }
        }, Ct)).ToArray();

        // The pace of the churn and of the samples, not a wait for an event: one registry change and one sample a second.
        var gauges = new ProcessGauges();
        var clock = Stopwatch.StartNew();
        using (var pace = new PeriodicTimer(TimeSpan.FromSeconds(1)))
        {
            for (var tick = 0; clock.Elapsed < Warmup + Measured; tick++)
            {
                await pace.WaitForNextTickAsync(Ct);
                try
                {
                    switch (tick % 3)
                    {
                        case 0:
                            var name = tick % 2 == 0 ? "soak-cls" : "soak-emb";
                            await server.RegisterAsync(name, versions[name][(tick / 3) % 2], overwrite: true, chunkSize: 1 << 20);
                            break;
                        case 1:
                            await server.RegisterAsync("churn-" + tick, churn, chunkSize: 1 << 20);
                            break;
                        default:
                            await server.Registry.UnregisterTaskAsync(new UnregisterTaskRequest { Name = "churn-" + (tick - 1) }, TestServer.AdminHeaders, cancellationToken: Ct);
                            break;
                    }

                    churned++;
                }
                catch (RpcException e)
                {
                    unexpected.Enqueue($"registry: {e.StatusCode} {e.Status.Detail}");
                }

                if (clock.Elapsed >= Warmup)
                {
                    gauges.Sample(clock.Elapsed.TotalSeconds);
                }
            }
        }

        await stop.CancelAsync();
        await Task.WhenAll(callers);
        TestContext.Current.TestOutputHelper?.WriteLine($"{answered} requests answered, {churned} registry changes; {gauges.Summary()}");

        Assert.Empty(unexpected);
        Assert.True(answered > 0 && churned >= 20, $"too little happened: {answered} requests, {churned} registry changes");

        // A leak per registry change (one a second) would climb by at least one a second.
        Assert.True(gauges.FileSlope < 0.5, $"open files climb: {gauges.Summary()}");
        Assert.True(gauges.ThreadSlope < 0.5, $"threads climb: {gauges.Summary()}");
        Assert.True(gauges.RssSlope < 8, $"memory climbs: {gauges.Summary()}");
    }

    private static void Check(bool ok, string what, ConcurrentQueue<string> unexpected)
    {
        if (!ok)
        {
            unexpected.Enqueue(what);
        }
    }
}
