using Grpc.Core;

using Ken.Server.Tests.Telemetry;
using Ken.V1;

using TaskKind = Ken.Format.Deltas.TaskKind;

namespace Ken.Server.Tests.Serving;

/// <summary>
/// Each class of error, raised for real on a server over loopback gRPC, reaches the client as its status
/// with a message that says what to do. Where the client cannot see the server's status (it cancelled,
/// or its own deadline fired), the status the server recorded in <c>ken_requests_total</c> is checked.
/// </summary>
public sealed class ErrorMappingEndToEndTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Inference_errors_get_not_found_and_invalid_argument()
    {
        var dataDir = TestServer.NewDataDir();
        TestServer.Seed(dataDir, "sentiment", TaskKind.Classification);
        await using var server = await TestServer.StartAsync(new FakeBackend(), dataDir);

        // TaskNotFoundException
        await AssertStatus(StatusCode.NotFound, "register it with `ken register`", () => server.Inference.ClassifyAsync(new ClassifyRequest { Task = "nope", Texts = { "x" } }, cancellationToken: Ct).ResponseAsync);
        // KenException: bad name, bad input, the wrong call for the task's kind
        await AssertStatus(StatusCode.InvalidArgument, "not valid", () => server.Inference.ClassifyAsync(new ClassifyRequest { Task = "Bad Name", Texts = { "x" } }, cancellationToken: Ct).ResponseAsync);
        await AssertStatus(StatusCode.InvalidArgument, "empty", () => server.Inference.ClassifyAsync(new ClassifyRequest { Task = "sentiment", Texts = { "" } }, cancellationToken: Ct).ResponseAsync);
        await AssertStatus(StatusCode.InvalidArgument, "call Classify instead", () => server.Inference.EmbedAsync(new EmbedRequest { Task = "sentiment", Texts = { "x" } }, cancellationToken: Ct).ResponseAsync);
    }

    [Fact]
    public async Task Registry_errors_get_their_statuses_including_the_admin_token_check()
    {
        await using var server = await TestServer.StartAsync(new FakeBackend());
        var bytes = TestDeltas.Bytes("a", TaskKind.Embedding);
        await server.RegisterAsync("a", bytes);

        // TaskExistsException, DeltaMismatchException, TaskNotFoundException
        await AssertStatus(StatusCode.AlreadyExists, "overwrite", () => server.RegisterAsync("a", bytes));
        await AssertStatus(StatusCode.FailedPrecondition, "rebuild it with `ken prune`", () => server.RegisterAsync("b", TestDeltas.Bytes("b", TaskKind.Embedding, mismatch: true)));
        await AssertStatus(StatusCode.NotFound, "not registered", () => server.Registry.UnregisterTaskAsync(new UnregisterTaskRequest { Name = "absent" }, TestServer.AdminHeaders, cancellationToken: Ct).ResponseAsync);

        // AdminTokenMissingException, AdminTokenRejectedException (unary and client streaming)
        await AssertStatus(StatusCode.Unauthenticated, "authorization: Bearer", () => server.Registry.ListTasksAsync(new ListTasksRequest(), cancellationToken: Ct).ResponseAsync);
        var wrong = new Metadata { { "authorization", "Bearer not-the-token" } };
        await AssertStatus(StatusCode.PermissionDenied, "admin token is wrong", () => server.Registry.GetTaskAsync(new GetTaskRequest { Name = "a" }, wrong, cancellationToken: Ct).ResponseAsync);
        await AssertStatus(StatusCode.PermissionDenied, "admin token is wrong", () => server.RegisterAsync("c", bytes, headers: wrong));
    }

    [Fact]
    public async Task An_unexpected_exception_is_internal_and_its_details_stay_in_the_server()
    {
        var dataDir = TestServer.NewDataDir();
        TestServer.Seed(dataDir, "a", TaskKind.Embedding);
        var backend = new FakeBackend { RunFailure = new InvalidOperationException("secret detail 42") };
        await using var server = await TestServer.StartAsync(backend, dataDir);

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Inference.EmbedAsync(new EmbedRequest { Task = "a", Texts = { "x" } }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.Contains("the server log has details", error.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("secret detail", error.Status.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true, StatusCode.ResourceExhausted)]
    [InlineData(false, StatusCode.Unavailable)]
    public async Task A_failed_gpu_switch_is_a_server_condition_not_a_client_error(bool outOfMemory, StatusCode expected)
    {
        var dataDir = TestServer.NewDataDir();
        TestServer.Seed(dataDir, "a", TaskKind.Embedding);
        var failure = new Ken.Runtime.Backends.Cuda.DeviceSwapException("uploading task 'a' to cuda:0 failed (cuMemAlloc); the slot is back on the base weights", outOfMemory, new InvalidOperationException("driver"));
        await using var server = await TestServer.StartAsync(new FakeBackend { RunFailure = failure }, dataDir);

        await AssertStatus(expected, "the slot is back on the base weights", () => server.Inference.EmbedAsync(new EmbedRequest { Task = "a", Texts = { "x" } }, cancellationToken: Ct).ResponseAsync);
    }

    [Fact]
    public async Task A_full_queue_is_resource_exhausted_and_closed_admission_unavailable()
    {
        var dataDir = TestServer.NewDataDir();
        TestServer.Seed(dataDir, "a", TaskKind.Embedding);
        var backend = new FakeBackend(slots: 1, maxBatch: 1);
        await using var server = await TestServer.StartAsync(backend, dataDir, true, "--max-queue", "1", "--max-batch", "1");
        var depth = server.WatchQueueDepth();

        backend.Gate.Reset();
        var running = server.Inference.EmbedAsync(new EmbedRequest { Task = "a", Texts = { "r" } }, cancellationToken: Ct).ResponseAsync;
        await backend.RunsStarted.WhenAtLeast(1);
        var queued = server.Inference.EmbedAsync(new EmbedRequest { Task = "a", Texts = { "q" } }, cancellationToken: Ct).ResponseAsync;
        await depth.WhenAtLeast(1);

        // ServerOverloadedException
        await AssertStatus(StatusCode.ResourceExhausted, "retry with backoff", () => server.Inference.EmbedAsync(new EmbedRequest { Task = "a", Texts = { "shed" } }, cancellationToken: Ct).ResponseAsync);

        // ServerShuttingDownException: admission closes as shutdown begins. Closing it directly keeps
        // Kestrel listening, so the status comes from the server and not from a refused connection.
        server.Scheduler.StopAdmitting();
        await AssertStatus(StatusCode.Unavailable, "retry on another replica", () => server.Inference.EmbedAsync(new EmbedRequest { Task = "a", Texts = { "late" } }, cancellationToken: Ct).ResponseAsync);

        backend.Gate.Set();
        await Task.WhenAll(running, queued);
        Assert.DoesNotContain("shed", backend.RunTexts);
        Assert.DoesNotContain("late", backend.RunTexts);
    }

    [Fact]
    public async Task A_request_the_client_cancels_is_cancelled_and_one_past_its_deadline_deadline_exceeded()
    {
        var cancelledTask = "cancel-" + Guid.NewGuid().ToString("N")[..12];
        var lateTask = "late-" + Guid.NewGuid().ToString("N")[..12];
        var dataDir = TestServer.NewDataDir();
        TestServer.Seed(dataDir, "a", TaskKind.Embedding);
        TestServer.Seed(dataDir, cancelledTask, TaskKind.Embedding);
        TestServer.Seed(dataDir, lateTask, TaskKind.Embedding);
        var backend = new FakeBackend(slots: 1);
        await using var server = await TestServer.StartAsync(backend, dataDir);
        using var outcomes = new RequestOutcomes();
        var depth = server.WatchQueueDepth();

        backend.Gate.Reset();
        var blocker = server.Inference.EmbedAsync(new EmbedRequest { Task = "a", Texts = { "blocker" } }, cancellationToken: Ct).ResponseAsync;
        await backend.RunsStarted.WhenAtLeast(1);

        // OperationCanceledException with the deadline still ahead: the client went away.
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var abandoned = server.Inference.EmbedAsync(new EmbedRequest { Task = cancelledTask, Texts = { "x" } }, cancellationToken: cancel.Token).ResponseAsync;
        await depth.WhenAtLeast(1);
        await cancel.CancelAsync();
        Assert.Equal(StatusCode.Cancelled, (await Assert.ThrowsAsync<RpcException>(() => abandoned)).StatusCode);
        await outcomes.WhenRecorded(cancelledTask, "CANCELLED");

        // OperationCanceledException after the deadline passed. A generated client would cancel the call
        // itself at its deadline, racing the server's own timer, so this call sends grpc-timeout by hand.
        var late = await RawGrpcCall.UnaryAsync(server.Address, "/ken.v1.Inference/Embed", new EmbedRequest { Task = lateTask, Texts = { "x" } }, "300m", Ct);
        Assert.Equal(StatusCode.DeadlineExceeded, late.StatusCode);
        await outcomes.WhenRecorded(lateTask, "DEADLINE_EXCEEDED");

        backend.Gate.Set();
        await blocker;
        Assert.Equal(["CANCELLED"], outcomes.StatusesOf(cancelledTask));
        Assert.Equal(["DEADLINE_EXCEEDED"], outcomes.StatusesOf(lateTask));
        Assert.DoesNotContain("x", backend.RunTexts);
    }

    private static async Task AssertStatus(StatusCode expected, string messagePart, Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal(expected, error.StatusCode);
        Assert.Contains(messagePart, error.Status.Detail, StringComparison.Ordinal);
    }
}
