using Google.Protobuf;

using Grpc.Core;

using Ken.Server.Registry;
using Ken.Server.Tests.Serving;
using Ken.V1;

using Microsoft.Extensions.DependencyInjection;

using TaskKind = Ken.Format.Deltas.TaskKind;

namespace Ken.Server.Tests.Registry;

/// <summary>Uploads from a hostile client: stalled, forged or too many at once, over real loopback gRPC.</summary>
public sealed class UploadBoundsEndToEndTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_upload_that_stalls_after_its_first_chunk_is_dropped_and_its_temp_file_removed()
    {
        await using var server = await TestServer.StartAsync(new FakeBackend(), null, true, "--upload-idle-timeout-s", "1");
        var bytes = TestDeltas.Bytes("slow", TaskKind.Classification);
        var tasks = Path.Combine(server.DataDir, "tasks");
        var released = Released(server);

        using var call = server.Registry.RegisterTask(TestServer.AdminHeaders, cancellationToken: Ct);
        await call.RequestStream.WriteAsync(new RegisterTaskRequest { Header = new RegisterTaskHeader { Name = "slow", SizeBytes = (ulong)bytes.Length, Sha256 = TestDeltas.Sha256(bytes) } }, Ct);
        await call.RequestStream.WriteAsync(new RegisterTaskRequest { Chunk = ByteString.CopyFrom(bytes, 0, 100) }, Ct);

        // The client now sends nothing; the server's reply is the event this test waits on.
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Contains("the upload sent nothing for 1 s (--upload-idle-timeout-s) and was dropped", error.Status.Detail, StringComparison.Ordinal);
        await released;
        Assert.Empty(Directory.GetFileSystemEntries(tasks));

        // The slot is free and the name unused: the same task uploads at once.
        Assert.Equal("slow", (await server.RegisterAsync("slow", bytes)).Name);
    }

    [Fact]
    public async Task A_call_that_never_sends_its_header_is_dropped_too()
    {
        await using var server = await TestServer.StartAsync(new FakeBackend(), null, true, "--upload-idle-timeout-s", "1");
        var released = Released(server);
        using var call = server.Registry.RegisterTask(TestServer.AdminHeaders, cancellationToken: Ct);
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        await released;
    }

    [Fact]
    public async Task A_header_claiming_more_than_the_backbone_can_hold_is_refused_before_anything_is_received()
    {
        // FakeBackend's slots hold 1 MiB, so no delta for it exceeds 2 MiB + 64 MiB; 1 GiB is within --max-task-size.
        await using var server = await TestServer.StartAsync(new FakeBackend());
        var bytes = TestDeltas.Bytes("forged", TaskKind.Classification);
        var claimed = 1UL << 30;

        var before = GC.GetTotalAllocatedBytes(precise: true);
        var error = await Assert.ThrowsAsync<RpcException>(() => server.RegisterAsync("forged", bytes, size: claimed));
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains($"the upload header claims {claimed} bytes, more than any delta of this server's backbone can hold ({(2L << 20) + DeltaSizeBound.Headroom} bytes", error.Status.Detail, StringComparison.Ordinal);

        // Client and server share this process: all of both together allocated a sliver of what the header claimed.
        TestContext.Current.TestOutputHelper?.WriteLine($"refusing a header that claims {claimed} bytes allocated {allocated} bytes (client and server together)");
        Assert.True(allocated < 16L << 20, $"refusing a header that claims {claimed} bytes allocated {allocated} bytes");
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(server.DataDir, "tasks")));
    }

    [Fact]
    public async Task A_ken_file_whose_header_claims_huge_tensors_is_refused_without_allocating_them()
    {
        // A safetensors header that declares a 4 GiB mask and 16 GiB of values over a few bytes of data.
        await using var server = await TestServer.StartAsync(new FakeBackend());
        var json = """{"__metadata__":{"ken.kind":"classification"},"mask/w":{"dtype":"U8","shape":[4294967296],"data_offsets":[0,4294967296]},"values/w":{"dtype":"F32","shape":[4294967296],"data_offsets":[4294967296,21474836480]}}"""u8.ToArray();
        var bytes = new byte[8 + json.Length + 16];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), (ulong)json.Length);
        json.CopyTo(bytes, 8);

        var before = GC.GetTotalAllocatedBytes(precise: true);
        var error = await Assert.ThrowsAsync<RpcException>(() => server.RegisterAsync("huge", bytes));
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("huge.ken", error.Status.Detail, StringComparison.Ordinal);
        TestContext.Current.TestOutputHelper?.WriteLine($"refusing a .ken that claims 20 GiB of tensors allocated {allocated} bytes: {error.Status.Detail}");
        Assert.True(allocated < 16L << 20, $"refusing a .ken that claims 20 GiB of tensors allocated {allocated} bytes");
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(server.DataDir, "tasks")));
    }

    [Fact]
    public void The_size_bound_follows_the_slot_and_is_off_without_slot_weights()
    {
        Assert.Equal((2L * 90_000_000) + DeltaSizeBound.Headroom, DeltaSizeBound.For(90_000_000));
        Assert.Null(DeltaSizeBound.For(0));
    }

    [Fact]
    public async Task One_upload_past_the_concurrent_bound_is_refused_at_once_and_a_freed_slot_is_reused()
    {
        await using var server = await TestServer.StartAsync(new FakeBackend(), null, true, "--max-concurrent-uploads", "2");
        var slots = server.Services.GetRequiredService<UploadSlots>();
        var inUse = new CountSignal();
        slots.InUseChanged += inUse.Set;

        // Two uploads that have sent their header and hold their slots.
        var first = await OpenAsync(server, "first");
        var second = await OpenAsync(server, "second");
        await inUse.WhenAtLeast(2);

        var refused = await Assert.ThrowsAsync<RpcException>(() => server.RegisterAsync("third", TestDeltas.Bytes("third", TaskKind.Classification)));
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Contains("2 task uploads are already being received, this server's limit (--max-concurrent-uploads)", refused.Status.Detail, StringComparison.Ordinal);

        // Finishing one frees its slot for the next.
        await first.Call.RequestStream.WriteAsync(new RegisterTaskRequest { Chunk = ByteString.CopyFrom(first.Bytes) }, Ct);
        await first.Call.RequestStream.CompleteAsync();
        Assert.Equal("first", (await first.Call).Name);
        Assert.Equal("third", (await server.RegisterAsync("third", TestDeltas.Bytes("third", TaskKind.Classification))).Name);

        second.Call.Dispose();
        first.Call.Dispose();
    }

    /// <summary>Completes when the server gives back its last upload slot (the event, not a poll); fails after 30 s.</summary>
    private static Task Released(TestServer server)
    {
        var free = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        server.Services.GetRequiredService<UploadSlots>().InUseChanged += inUse =>
        {
            if (inUse == 0)
            {
                free.TrySetResult();
            }
        };
        return free.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
    }

    private static async Task<(AsyncClientStreamingCall<RegisterTaskRequest, TaskInfo> Call, byte[] Bytes)> OpenAsync(TestServer server, string name)
    {
        var bytes = TestDeltas.Bytes(name, TaskKind.Classification);
        var call = server.Registry.RegisterTask(TestServer.AdminHeaders, cancellationToken: Ct);
        await call.RequestStream.WriteAsync(new RegisterTaskRequest { Header = new RegisterTaskHeader { Name = name, SizeBytes = (ulong)bytes.Length, Sha256 = TestDeltas.Sha256(bytes) } }, Ct);
        return (call, bytes);
    }
}
