using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Ken.V1;

namespace Ken.Client.Tests;

/// <summary>
/// <see cref="KenClient"/> as a service would use it, against the real server process over
/// loopback gRPC. Each test registers its own task name, so the order they run in does not matter.
/// </summary>
public sealed class KenClientTests(LiveServerFixture fx) : IClassFixture<LiveServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Health_is_serving()
    {
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await fx.Client.CheckHealthAsync(Ct));
    }

    [Fact]
    public async Task Register_uploads_the_whole_file_and_the_task_is_listed_and_described()
    {
        long size = new FileInfo(fx.DeltaPath).Length;
        var sent = new List<long>();
        var progress = new SynchronousProgress(sent);

        var info = await fx.Client.RegisterAsync(fx.DeltaPath, "registered", pin: true, progress: progress, cancellationToken: Ct);

        Assert.Equal("registered", info.Name);
        Assert.Equal(TaskKind.Embedding, info.Kind);
        Assert.Equal((ulong)size, info.Bytes);
        Assert.True(info.Pinned);
        Assert.Equal("magnitude", info.Method);
        Assert.Equal(0.1, info.Keep, 6);
        Assert.NotEmpty(sent);
        Assert.Equal(size, sent[^1]);
        Assert.Equal(sent.Order(), sent);

        var listed = Assert.Single(await fx.Client.ListTasksAsync(Ct), t => t.Name == "registered");
        Assert.Equal((ulong)size, listed.Bytes);
        var got = await fx.Client.GetTaskAsync("registered", Ct);
        Assert.Equal(TaskKind.Embedding, got.Kind);
        Assert.Equal(info.RegisteredAt, got.RegisteredAt);
    }

    [Fact]
    public async Task An_upload_in_small_chunks_is_reassembled_whole()
    {
        // 4 KiB chunks: the delta arrives in many messages, and the server accepts it only if the size
        // and SHA-256 of what it reassembled equal the header's.
        using var small = new KenClient(new KenClientOptions { Address = fx.Address, AdminToken = LiveServerFixture.Token, UploadChunkBytes = 4096, MaxRetries = 0 });
        var reports = new List<long>();

        var info = await small.RegisterAsync(fx.DeltaPath, "chunked", progress: new SynchronousProgress(reports), cancellationToken: Ct);

        long size = new FileInfo(fx.DeltaPath).Length;
        Assert.Equal((ulong)size, info.Bytes);
        Assert.True(size > 10 * 4096);
        Assert.Equal((size + 4095) / 4096, reports.Count);
        var embedded = await small.EmbedAsync("chunked", ["reassembled"], Ct);
        Assert.Equal(384, Assert.Single(embedded.Embeddings).Values.Count);
    }

    [Fact]
    public async Task Embed_returns_one_unit_vector_of_384_per_text_in_order()
    {
        await fx.Client.RegisterAsync(fx.DeltaPath, "embedder", cancellationToken: Ct);

        var reply = await fx.Client.EmbedAsync("embedder", ["hello world", "a second, longer text about serving", "hello world"], Ct);

        Assert.Equal("embedder", reply.Task);
        Assert.Equal(3, reply.Embeddings.Count);
        foreach (var embedding in reply.Embeddings)
        {
            Assert.Equal(384, embedding.Values.Count);
            double norm = Math.Sqrt(embedding.Values.Sum(v => (double)v * v));
            Assert.Equal(1.0, norm, 4); // pruned with --normalize
        }

        // The same text gives the same vector; a different text a different one.
        Assert.Equal(reply.Embeddings[0].Values, reply.Embeddings[2].Values);
        Assert.True(Cosine(reply.Embeddings[0].Values, reply.Embeddings[1].Values) < 0.99);
    }

    [Fact]
    public async Task Classify_against_an_embedding_task_is_invalid_argument_naming_the_task()
    {
        await fx.Client.RegisterAsync(fx.DeltaPath, "not-a-classifier", cancellationToken: Ct);

        var e = await Assert.ThrowsAsync<RpcException>(() => fx.Client.ClassifyAsync("not-a-classifier", ["hello"], cancellationToken: Ct));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("not-a-classifier", e.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("embed", e.Status.Detail, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task After_unregister_every_call_for_the_task_is_not_found()
    {
        await fx.Client.RegisterAsync(fx.DeltaPath, "short-lived", cancellationToken: Ct);
        Assert.Single((await fx.Client.EmbedAsync("short-lived", ["warm"], Ct)).Embeddings);

        await fx.Client.UnregisterAsync("short-lived", Ct);

        Assert.DoesNotContain(await fx.Client.ListTasksAsync(Ct), t => t.Name == "short-lived");
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(() => fx.Client.GetTaskAsync("short-lived", Ct))).StatusCode);
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(() => fx.Client.EmbedAsync("short-lived", ["again"], Ct))).StatusCode);
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(() => fx.Client.UnregisterAsync("short-lived", Ct))).StatusCode);
    }

    [Fact]
    public async Task Registering_an_existing_name_is_already_exists_unless_overwriting()
    {
        await fx.Client.RegisterAsync(fx.DeltaPath, "taken", cancellationToken: Ct);

        // The server answers right after the header; the client must report that answer, not a failed write.
        var e = await Assert.ThrowsAsync<RpcException>(() => fx.Client.RegisterAsync(fx.DeltaPath, "taken", cancellationToken: Ct));
        Assert.Equal(StatusCode.AlreadyExists, e.StatusCode);

        var replaced = await fx.Client.RegisterAsync(fx.DeltaPath, "taken", overwrite: true, cancellationToken: Ct);
        Assert.Equal("taken", replaced.Name);
    }

    [Fact]
    public async Task An_overwrite_is_a_newer_generation_and_replies_name_the_generation_that_served_them()
    {
        var first = await fx.Client.RegisterAsync(fx.DeltaPath, "versioned", cancellationToken: Ct);
        Assert.Equal(first.Generation, (await fx.Client.EmbedAsync("versioned", ["v"], Ct)).Generation);

        var second = await fx.Client.RegisterAsync(fx.DeltaPath, "versioned", overwrite: true, cancellationToken: Ct);

        Assert.True(second.Generation > first.Generation, $"generation {second.Generation} does not follow {first.Generation}");
        Assert.Equal(second.Generation, (await fx.Client.EmbedAsync("versioned", ["v"], Ct)).Generation);
        Assert.Equal(second.Generation, (await fx.Client.GetTaskAsync("versioned", Ct)).Generation);
    }

    [Fact]
    public void The_retry_pushback_of_a_refusal_is_read_from_its_trailer()
    {
        var hinted = new RpcException(new Status(StatusCode.ResourceExhausted, "overloaded"), new Metadata { { KenClient.RetryPushbackTrailer, "750" } });
        var bare = new RpcException(new Status(StatusCode.ResourceExhausted, "overloaded"));
        var garbled = new RpcException(new Status(StatusCode.ResourceExhausted, "overloaded"), new Metadata { { KenClient.RetryPushbackTrailer, "-1" } });

        Assert.Equal(TimeSpan.FromMilliseconds(750), KenClient.RetryPushback(hinted));
        Assert.Null(KenClient.RetryPushback(bare));
        Assert.Null(KenClient.RetryPushback(garbled));
    }

    [Fact]
    public async Task The_registry_needs_the_admin_token_but_inference_does_not()
    {
        await fx.Client.RegisterAsync(fx.DeltaPath, "open-to-all", cancellationToken: Ct);
        using var anonymous = new KenClient(fx.Address);
        using var wrong = new KenClient(fx.Address, "wrong-token-wrong-token-wrong-token");

        Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(() => anonymous.ListTasksAsync(Ct))).StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(() => wrong.ListTasksAsync(Ct))).StatusCode);
        Assert.Single((await anonymous.EmbedAsync("open-to-all", ["no token needed"], Ct)).Embeddings);
    }

    [Fact]
    public async Task A_client_over_a_caller_s_channel_leaves_it_open_when_disposed()
    {
        using var channel = GrpcChannel.ForAddress(fx.Address);
        using (var first = new KenClient(channel))
        {
            Assert.Equal(new Uri(fx.Address).Authority, first.Address); // a channel knows its target, not its scheme
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await first.CheckHealthAsync(Ct));
        }

        using var second = new KenClient(channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await second.CheckHealthAsync(Ct));
    }

    [Fact]
    public async Task A_client_that_owns_its_channel_closes_it_when_disposed()
    {
        var client = new KenClient(fx.Address);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await client.CheckHealthAsync(Ct));

        client.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.CheckHealthAsync(Ct));
    }

    private static double Cosine(Google.Protobuf.Collections.RepeatedField<float> a, Google.Protobuf.Collections.RepeatedField<float> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Count; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }

        return dot / Math.Sqrt(na * nb);
    }

    /// <summary>Records reports on the caller's thread (<see cref="Progress{T}"/> would post them later).</summary>
    private sealed class SynchronousProgress(List<long> reports) : IProgress<long>
    {
        public void Report(long value) => reports.Add(value);
    }
}
