using Grpc.Core;
using Ken.TestSupport;

namespace Ken.Client.Tests;

/// <summary>
/// The server as a real process, killed (SIGKILL, through <c>KEN_FAULT_POINT</c> and
/// <c>KEN_FAULT_ACTION=kill</c>) exactly at each fault point of the registry's write path and of a slot
/// switch, then restarted on the same data directory: it lists only complete tasks, each serves exactly
/// what a fresh server serves for the file it holds, and no temp file is left.
/// </summary>
public sealed class FaultPointTests(FaultPointFixture fx) : IClassFixture<FaultPointFixture>
{
    private const int KilledExitCode = 128 + 9;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("registry.before-fsync", false, false)]
    [InlineData("registry.after-fsync", false, false)]
    [InlineData("registry.after-rename", false, true)]
    [InlineData("registry.after-publish", false, true)]
    [InlineData("registry.after-fsync", true, false)]
    [InlineData("registry.after-rename", true, true)]
    public async Task Killed_at_a_registry_fault_point_the_restarted_server_lists_only_complete_tasks_serving_exactly(string point, bool overwrite, bool landed)
    {
        using var dir = new TempDirectory();
        var data = dir.File("data");
        var tasks = Directory.CreateDirectory(Path.Combine(data, "tasks")).FullName;
        File.Copy(fx.DeltaA, Path.Combine(tasks, "alpha.ken"));

        // Registers B as a new task "beta", or over "alpha"; the process dies at the point.
        var name = overwrite ? "alpha" : "beta";
        await KillAtAsync(point, data, client => client.RegisterAsync(fx.DeltaB, name, overwrite: overwrite, cancellationToken: Ct));

        // Killed before the rename, the upload's temp file is still there for the restart to clean.
        Assert.Equal(landed ? 0 : 1, Directory.GetFiles(tasks, "*.tmp-*").Length);

        await using var restarted = await ServerProcess.StartAsync(FaultPointFixture.ServerArgs(data), Ct);
        using var client = FaultPointFixture.Client(restarted);
        var listed = (await client.ListTasksAsync(Ct)).Select(t => t.Name).Order(StringComparer.Ordinal).ToArray();
        string[] expected = overwrite || !landed ? ["alpha"] : ["alpha", "beta"];
        Assert.Equal(expected, listed);

        var alpha = await FaultPointFixture.EmbedAsync(client, "alpha", Ct);
        Assert.Equal(overwrite && landed ? fx.ReferenceB : fx.ReferenceA, alpha);
        if (!overwrite && landed)
        {
            Assert.Equal(fx.ReferenceB, await FaultPointFixture.EmbedAsync(client, "beta", Ct));
        }

        Assert.Empty(Directory.GetFiles(data, "*.tmp-*", SearchOption.AllDirectories));
        Assert.False(Directory.Exists(Path.Combine(data, "quarantine")) && Directory.EnumerateFileSystemEntries(Path.Combine(data, "quarantine")).Any(), "a complete task was quarantined");
        Assert.Equal(0, await restarted.StopAsync());
    }

    [Fact]
    public async Task Killed_half_way_through_a_slot_switch_the_restarted_server_serves_every_task_exactly()
    {
        using var dir = new TempDirectory();
        var data = dir.File("data");
        var tasks = Directory.CreateDirectory(Path.Combine(data, "tasks")).FullName;
        File.Copy(fx.DeltaA, Path.Combine(tasks, "alpha.ken"));
        File.Copy(fx.DeltaB, Path.Combine(tasks, "beta.ken"));

        // The first request swaps alpha into a slot; the process dies with half of its tensors written.
        await KillAtAsync("swap.mid-switch", data, client => FaultPointFixture.EmbedAsync(client, "alpha", Ct));

        await using var restarted = await ServerProcess.StartAsync(FaultPointFixture.ServerArgs(data), Ct);
        using var client = FaultPointFixture.Client(restarted);
        Assert.Equal(fx.ReferenceA, await FaultPointFixture.EmbedAsync(client, "alpha", Ct));
        Assert.Equal(fx.ReferenceB, await FaultPointFixture.EmbedAsync(client, "beta", Ct));
        Assert.Equal(fx.ReferenceA, await FaultPointFixture.EmbedAsync(client, "alpha", Ct));
        Assert.Equal(File.ReadAllBytes(fx.DeltaA), File.ReadAllBytes(Path.Combine(tasks, "alpha.ken")));
        Assert.Equal(File.ReadAllBytes(fx.DeltaB), File.ReadAllBytes(Path.Combine(tasks, "beta.ken")));
        Assert.Equal(0, await restarted.StopAsync());
    }

    [Fact]
    public async Task A_misspelt_fault_point_fails_the_registration_that_passes_it_with_the_known_names()
    {
        using var dir = new TempDirectory();
        var misspelt = new Dictionary<string, string> { ["KEN_FAULT_POINT"] = "registry.after-fsnyc" };
        await using var server = await ServerProcess.StartAsync(FaultPointFixture.ServerArgs(dir.File("data")), Ct, misspelt);
        using var client = FaultPointFixture.Client(server);

        // Not silently "no crash happened": the first point reached reports the mistake.
        var error = await Assert.ThrowsAnyAsync<RpcException>(() => client.RegisterAsync(fx.DeltaA, "alpha", cancellationToken: Ct));
        Assert.Contains("registry.after-fsnyc", error.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("registry.after-fsync", error.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(await client.ListTasksAsync(Ct));
        Assert.Equal(0, await server.StopAsync());
    }

    /// <summary>Starts the server with <paramref name="point"/> armed to kill, makes the call that reaches it, and waits for the process to die there.</summary>
    private static async Task KillAtAsync(string point, string data, Func<KenClient, Task> reach)
    {
        var armed = new Dictionary<string, string> { ["KEN_FAULT_POINT"] = point, ["KEN_FAULT_ACTION"] = "kill" };
        await using var server = await ServerProcess.StartAsync(FaultPointFixture.ServerArgs(data), Ct, armed);
        using (var client = FaultPointFixture.Client(server))
        {
            // The connection drops with the process: the caller never gets a reply.
            await Assert.ThrowsAnyAsync<RpcException>(() => reach(client));
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(1));
        Assert.Equal(KilledExitCode, await server.WaitForExitAsync(timeout.Token));
        Assert.Contains($"fault point {point} reached", server.Log, StringComparison.Ordinal);
    }
}
