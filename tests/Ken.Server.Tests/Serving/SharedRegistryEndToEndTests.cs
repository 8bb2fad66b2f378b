using Grpc.Core;

using Ken.Server.Registry;
using Ken.TestSupport;
using Ken.V1;

using Microsoft.Extensions.DependencyInjection;

using TaskKind = Ken.Format.Deltas.TaskKind;

namespace Ken.Server.Tests.Serving;

/// <summary>
/// Two servers in process, each with its own data dir, on one <c>--registry-dir</c>: the watcher of
/// each follows what the other registers and unregisters, with no request to trigger a lookup. The
/// tests wait on the watcher's <see cref="StoreWatcher.Synced"/> event, not on time.
/// </summary>
public sealed class SharedRegistryEndToEndTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Each_replica_s_watcher_follows_what_the_other_registers_and_unregisters()
    {
        using var shared = new TempDirectory();
        using var backendA = new FakeBackend();
        using var backendB = new FakeBackend();
        await using var a = await TestServer.StartAsync(backendA, extraArgs: ["--registry-dir", shared.Path, "--registry-poll-ms", "50"]);
        await using var b = await TestServer.StartAsync(backendB, extraArgs: ["--registry-dir", shared.Path, "--registry-poll-ms", "50"]);

        var listedOnB = Until(b, registry => registry.Count == 1);
        await a.RegisterAsync("followed", TestDeltas.Bytes("followed", TaskKind.Embedding));
        await listedOnB;
        var info = await b.Registry.GetTaskAsync(new GetTaskRequest { Name = "followed" }, TestServer.AdminHeaders, cancellationToken: Ct);
        Assert.Equal(Ken.V1.TaskKind.Embedding, info.Kind);

        var goneOnA = Until(a, registry => registry.Count == 0);
        await b.Registry.UnregisterTaskAsync(new UnregisterTaskRequest { Name = "followed" }, TestServer.AdminHeaders, cancellationToken: Ct);
        await goneOnA;
        var error = await Assert.ThrowsAsync<RpcException>(() => a.Inference.EmbedAsync(new EmbedRequest { Task = "followed", Texts = { "x" } }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task Without_a_registry_dir_nothing_watches_the_data_dir_s_own_registry()
    {
        using var backend = new FakeBackend();
        await using var server = await TestServer.StartAsync(backend);

        Assert.Null(server.Services.GetService<StoreWatcher>());
        Assert.Equal(Path.Combine(server.DataDir, "tasks"), server.Services.GetRequiredService<TaskRegistry>().Folder);
    }

    /// <summary>Completes after the first listing of <paramref name="server"/>'s watcher that leaves its registry in the state <paramref name="condition"/> describes.</summary>
    private static Task Until(TestServer server, Func<TaskRegistry, bool> condition)
    {
        var registry = server.Services.GetRequiredService<TaskRegistry>();
        var watcher = server.Services.GetRequiredService<StoreWatcher>();
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        watcher.Synced += () =>
        {
            if (condition(registry))
            {
                reached.TrySetResult();
            }
        };
        return reached.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
    }
}
