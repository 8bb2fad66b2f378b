using System.Diagnostics;
using System.Security.Cryptography;

using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Ken.V1;

namespace Ken.Client.Tests;

/// <summary>
/// Three server processes on one shared registry folder (<see cref="ReplicaSetFixture"/>): what one
/// replica registers, replaces or unregisters, every replica serves (or stops serving) within 2 s, and
/// two replicas registering one name at once end with one whole version everywhere. Propagation is by
/// polling the folder, so the tests wait with a bounded retry loop against a 2 s deadline, on cheap
/// registry calls (which version a replica lists); the answers are compared once every replica agrees.
/// </summary>
public sealed class SharedRegistryTests(ReplicaSetFixture fx) : IClassFixture<ReplicaSetFixture>
{
    private static readonly TimeSpan Propagation = TimeSpan.FromSeconds(2);
    private static readonly string[] Texts = ["The quick brown fox jumps over the lazy dog.", "Ken serves many fine-tuned variants of one transformer."];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_task_registered_through_one_replica_is_listed_by_all_within_2_s_and_every_replica_answers_alike()
    {
        var info = await fx.Replicas[0].RegisterAsync(fx.V1Path, "everywhere", cancellationToken: Ct);

        await WithinPropagation(async replica => (await replica.ListTasksAsync(Ct)).Any(t => t.Name == "everywhere" && t.Bytes == info.Bytes && t.RegisteredAt == info.RegisteredAt));
        var first = await Answer(fx.Replicas[0], "everywhere");
        Assert.True(Same(first, await Answer(fx.Replicas[1], "everywhere")), "replica 2 answers as replica 1 does");
        Assert.True(Same(first, await Answer(fx.Replicas[2], "everywhere")), "replica 3 answers as replica 1 does");
    }

    [Fact]
    public async Task Unregistering_through_one_replica_is_not_found_on_every_replica_within_2_s()
    {
        await fx.Replicas[0].RegisterAsync(fx.V1Path, "going", cancellationToken: Ct);
        foreach (var replica in fx.Replicas)
        {
            // Each replica serves it first, so each holds it bound when it goes.
            Assert.Equal(Texts.Length, (await Answer(replica, "going")).Length);
        }

        await fx.Replicas[1].UnregisterAsync("going", Ct);

        await WithinPropagation(async replica => await Record.ExceptionAsync(() => replica.GetTaskAsync("going", Ct)) is RpcException { StatusCode: StatusCode.NotFound });
        foreach (var replica in fx.Replicas)
        {
            Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(() => replica.EmbedAsync("going", Texts, Ct))).StatusCode);
        }
    }

    [Fact]
    public async Task An_overwrite_through_one_replica_is_served_by_every_replica_within_2_s()
    {
        var (v1, v2) = await References();
        await fx.Replicas[0].RegisterAsync(fx.V1Path, "replaced", cancellationToken: Ct);
        foreach (var replica in fx.Replicas)
        {
            Assert.True(Same(v1, await Answer(replica, "replaced")), "every replica serves the first version");
        }

        var info = await fx.Replicas[2].RegisterAsync(fx.V2Path, "replaced", overwrite: true, cancellationToken: Ct);

        await WithinPropagation(Lists(info));
        await AssertAllServe("replaced", v2);
    }

    [Fact]
    public async Task Two_replicas_registering_one_new_name_at_once_first_wins_the_other_gets_already_exists_and_all_serve_the_winner()
    {
        var (v1, v2) = await References();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var one = RegisterRawAsync(fx.Addresses[0], "contested", File.ReadAllBytes(fx.V1Path), overwrite: false, release.Task);
        var two = RegisterRawAsync(fx.Addresses[1], "contested", File.ReadAllBytes(fx.V2Path), overwrite: false, release.Task);
        await Task.WhenAll(one.Sent, two.Sent);
        release.SetResult();
        var outcomes = await Task.WhenAll(one.Status, two.Status);

        Assert.Single(outcomes, s => s == StatusCode.OK);
        Assert.Single(outcomes, s => s == StatusCode.AlreadyExists);
        var winner = outcomes[0] == StatusCode.OK ? v1 : v2;
        await WithinPropagation(Lists(OnDisk("contested")));
        await AssertAllServe("contested", winner);
    }

    [Fact]
    public async Task Two_replicas_overwriting_one_name_at_once_end_with_one_whole_version_everywhere()
    {
        var (v1, v2) = await References();
        await fx.Replicas[2].RegisterAsync(fx.V1Path, "raced", cancellationToken: Ct);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var one = RegisterRawAsync(fx.Addresses[0], "raced", File.ReadAllBytes(fx.V2Path), overwrite: true, release.Task);
        var two = RegisterRawAsync(fx.Addresses[1], "raced", File.ReadAllBytes(fx.V1Path), overwrite: true, release.Task);
        await Task.WhenAll(one.Sent, two.Sent);
        release.SetResult();

        Assert.Equal([StatusCode.OK, StatusCode.OK], await Task.WhenAll(one.Status, two.Status));

        // The last rename wins: the file is one whole version, and every replica comes to serve it.
        var onDisk = File.ReadAllBytes(Path.Combine(fx.SharedDir, "raced.ken"));
        Assert.True(onDisk.SequenceEqual(File.ReadAllBytes(fx.V1Path)) || onDisk.SequenceEqual(File.ReadAllBytes(fx.V2Path)), "the registry file is one whole version");
        var winner = onDisk.SequenceEqual(File.ReadAllBytes(fx.V1Path)) ? v1 : v2;
        await WithinPropagation(Lists(OnDisk("raced")));
        await AssertAllServe("raced", winner);
        Assert.DoesNotContain(Directory.GetFiles(fx.SharedDir), f => f.Contains(".tmp-", StringComparison.Ordinal));
    }

    /// <summary>The answers of the two versions, served under names of their own through replica 1; they differ.</summary>
    private async Task<(float[][] V1, float[][] V2)> References()
    {
        await fx.Replicas[0].RegisterAsync(fx.V1Path, "reference-v1", overwrite: true, cancellationToken: Ct);
        await fx.Replicas[0].RegisterAsync(fx.V2Path, "reference-v2", overwrite: true, cancellationToken: Ct);
        var v1 = await Answer(fx.Replicas[0], "reference-v1");
        var v2 = await Answer(fx.Replicas[0], "reference-v2");
        Assert.False(Same(v1, v2), "the two versions answer differently, so a test can tell them apart");
        return (v1, v2);
    }

    private async Task AssertAllServe(string task, float[][] expected)
    {
        for (var i = 0; i < fx.Replicas.Count; i++)
        {
            Assert.True(Same(expected, await Answer(fx.Replicas[i], task)), $"replica {i + 1} serves the version every replica lists");
        }
    }

    /// <summary>The task's registry file as a replica that loaded it describes it (size, and its modification time as registered_at).</summary>
    private TaskInfo OnDisk(string task)
    {
        var path = Path.Combine(fx.SharedDir, task + ".ken");
        return new TaskInfo { Name = task, Bytes = (ulong)new FileInfo(path).Length, RegisteredAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(File.GetLastWriteTimeUtc(path)) };
    }

    /// <summary>A replica describes the task as <paramref name="expected"/> (same size and registration time: the same version).</summary>
    private static Func<KenClient, Task<bool>> Lists(TaskInfo expected) => async replica =>
    {
        try
        {
            var info = await replica.GetTaskAsync(expected.Name, Ct);
            return info.Bytes == expected.Bytes && info.RegisteredAt == expected.RegisteredAt;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return false;
        }
    };

    /// <summary>
    /// Retries <paramref name="condition"/> (a real call to one replica) for each replica every 50 ms until it
    /// holds for all, and fails if a replica's first success came later than 2 s after the change. Replicas
    /// find changes by polling the folder, so there is no event to await.
    /// </summary>
    private async Task WithinPropagation(Func<KenClient, Task<bool>> condition)
    {
        var clock = Stopwatch.StartNew();
        var agreedAt = new TimeSpan?[fx.Replicas.Count];
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        while (true)
        {
            for (var i = 0; i < agreedAt.Length; i++)
            {
                if (agreedAt[i] is null && await condition(fx.Replicas[i]))
                {
                    // When the answer came back: the replica had the change by then at the latest.
                    agreedAt[i] = clock.Elapsed;
                }
            }

            if (agreedAt.All(t => t is not null))
            {
                var last = agreedAt.Max()!.Value;
                TestContext.Current.TestOutputHelper?.WriteLine($"replicas agreed after {string.Join(", ", agreedAt.Select(t => $"{t!.Value.TotalMilliseconds:F0} ms"))}");
                Assert.True(last <= Propagation, $"the last replica agreed after {last.TotalMilliseconds:F0} ms, over {Propagation.TotalSeconds} s.\n{fx.Logs}");
                return;
            }

            if (clock.Elapsed > Propagation)
            {
                Assert.Fail($"replicas {string.Join(", ", agreedAt.Select((t, i) => (t, i)).Where(p => p.t is null).Select(p => p.i + 1))} did not agree within {Propagation.TotalSeconds} s.\n{fx.Logs}");
            }

            await tick.WaitForNextTickAsync(Ct);
        }
    }

    private static async Task<float[][]> Answer(KenClient replica, string task) =>
        [.. (await replica.EmbedAsync(task, Texts, Ct)).Embeddings.Select(e => e.Values.ToArray())];

    /// <summary>Equal up to float noise (the versions differ by far more).</summary>
    private static bool Same(float[][] a, float[][] b) =>
        a.Length == b.Length && a.Zip(b).All(p => p.First.Length == p.Second.Length && p.First.Zip(p.Second).All(v => Math.Abs(v.First - v.Second) < 1e-4f));

    /// <summary>
    /// Starts an upload of <paramref name="bytes"/> and sends all of it, but completes it only when
    /// <paramref name="release"/> does, so two uploads can finish at the same moment.
    /// </summary>
    private static RawUpload RegisterRawAsync(string address, string name, byte[] bytes, bool overwrite, Task release)
    {
        var sent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return new RawUpload(sent.Task, Run());

        async Task<StatusCode> Run()
        {
            using var channel = GrpcChannel.ForAddress(address);
            var client = new Ken.V1.Registry.RegistryClient(channel);
            using var call = client.RegisterTask(new Metadata { { "authorization", "Bearer " + ReplicaSetFixture.Token } }, cancellationToken: Ct);
            try
            {
                await call.RequestStream.WriteAsync(new RegisterTaskRequest
                {
                    Header = new RegisterTaskHeader { Name = name, Overwrite = overwrite, SizeBytes = (ulong)bytes.Length, Sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes)) },
                });
                for (var offset = 0; offset < bytes.Length; offset += 1 << 20)
                {
                    await call.RequestStream.WriteAsync(new RegisterTaskRequest { Chunk = ByteString.CopyFrom(bytes, offset, Math.Min(1 << 20, bytes.Length - offset)) });
                }

                sent.TrySetResult();
                await release;
                await call.RequestStream.CompleteAsync();
                await call.ResponseAsync;
                return StatusCode.OK;
            }
            catch (RpcException e)
            {
                sent.TrySetResult();
                return e.StatusCode;
            }
        }
    }

    private sealed record RawUpload(Task Sent, Task<StatusCode> Status);
}
