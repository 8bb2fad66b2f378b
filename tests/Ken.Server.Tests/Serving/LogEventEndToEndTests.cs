using Grpc.Core;

using Ken.Server.Tests.Telemetry;
using Ken.V1;

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

using TaskKind = Ken.Format.Deltas.TaskKind;

namespace Ken.Server.Tests.Serving;

/// <summary>The server's log lines carry their event ids and structured values (Telemetry/KenLog.cs).</summary>
public sealed class LogEventEndToEndTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Start_up_and_an_unexpected_error_log_with_their_event_ids()
    {
        var dataDir = TestServer.NewDataDir();
        TestServer.Seed(dataDir, "a", TaskKind.Embedding);
        var logs = new RecordingLoggerProvider();
        var failure = new InvalidOperationException("backend fault");
        var backend = new FakeBackend { RunFailure = failure };
        await using (var server = await TestServer.StartAsync(backend, dataDir, services => services.AddSingleton<ILoggerProvider>(logs)))
        {
            var loaded = Assert.Single(logs.Records, r => r.EventId.Id == 3001);
            Assert.Equal("TaskLoaded", loaded.EventId.Name);
            Assert.Equal(LogLevel.Information, loaded.Level);
            Assert.Equal("a", loaded.State["Task"]);
            Assert.Equal("embedding", loaded.State["Kind"]);
            Assert.Equal("ServerReady", Assert.Single(logs.Records, r => r.EventId.Id == 1002).EventId.Name);

            var error = await Assert.ThrowsAsync<RpcException>(() => server.Inference.EmbedAsync(new EmbedRequest { Task = "a", Texts = { "x" } }, cancellationToken: Ct).ResponseAsync);
            Assert.Equal(StatusCode.Internal, error.StatusCode);

            // The interceptor logs before it answers, so the record is there once the client has the status.
            var unexpected = Assert.Single(logs.Records, r => r.EventId.Id == 2001);
            Assert.Equal("UnexpectedError", unexpected.EventId.Name);
            Assert.Equal(LogLevel.Error, unexpected.Level);
            Assert.Same(failure, unexpected.Exception);
            Assert.Equal("/ken.v1.Inference/Embed", unexpected.State["Method"]);
            var slot = Assert.Single(logs.Records, r => r.EventId.Id == 4002);
            Assert.Equal("a", slot.State["Task"]);
        }

        Assert.Equal("Stopped", Assert.Single(logs.Records, r => r.EventId.Id == 1004).EventId.Name);
        Assert.All(logs.Records.Where(r => r.Category.StartsWith("Ken.", StringComparison.Ordinal)), r => Assert.NotEqual(0, r.EventId.Id));
    }
}
