using Ken.Server.Tests.Registry;
using Ken.V1;

using TaskKind = Ken.Format.Deltas.TaskKind;

namespace Ken.Server.Tests.Serving;

/// <summary>
/// Host-tier eviction through the server: two slots, room for two bound tasks, a pinned task, a task
/// a slot keeps serving and idle ones; <c>ken_resident_bytes{tier="host"}</c> must equal what is
/// really alive.
/// </summary>
public sealed class ResidencyEndToEndTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Eviction_never_takes_a_task_a_slot_holds_and_the_host_gauge_counts_what_is_resident()
    {
        using var backend = new FakeBackend(slots: 2);
        await using var server = await TestServer.StartAsync(backend, extraArgs: ["--host-delta-budget", (2 * FakeBackend.BoundBytes).ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await server.RegisterAsync("pinned", TestDeltas.Bytes("pinned", TaskKind.Embedding), pin: true);
        foreach (var task in new[] { "held", "idle-a", "idle-b" })
        {
            await server.RegisterAsync(task, TestDeltas.Bytes(task, TaskKind.Embedding));
        }

        AssertResident(server, ["idle-b", "pinned"]);

        // Slot 0 takes "held", slot 1 "idle-a": over budget, and "held" is the least recently used, but it is in a slot.
        await Embed(server, "held");
        await Embed(server, "idle-a");
        AssertResident(server, ["held", "idle-a", "pinned"]);
        await AssertTiers(server, ("held", ResidencyTier.Slot), ("idle-a", ResidencyTier.Slot), ("idle-b", ResidencyTier.Disk), ("pinned", ResidencyTier.Host));

        // A hit keeps slot 0 on "held"; "idle-b" then goes to slot 1, whose "idle-a" is idle and evicted.
        await Embed(server, "held");
        await Embed(server, "idle-b");
        AssertResident(server, ["held", "idle-b", "pinned"]);
        await AssertTiers(server, ("held", ResidencyTier.Slot), ("idle-a", ResidencyTier.Disk), ("idle-b", ResidencyTier.Slot), ("pinned", ResidencyTier.Host));

        // "idle-a" goes to slot 1, whose "idle-b" had fewer requests than "held" (two) although "held" was used
        // longer ago: once that slot lets "idle-b" go, "idle-b" is evicted.
        await Embed(server, "idle-a");
        AssertResident(server, ["held", "idle-a", "pinned"]);
        await AssertTiers(server, ("held", ResidencyTier.Slot), ("idle-a", ResidencyTier.Slot), ("idle-b", ResidencyTier.Disk), ("pinned", ResidencyTier.Host));
        Assert.Empty(backend.Violations);
    }

    private static async Task Embed(TestServer server, string task)
    {
        var reply = await server.Inference.EmbedAsync(new EmbedRequest { Task = task, Texts = { "text" } }, cancellationToken: Ct);
        Assert.Equal(FakeBackend.ExpectedEmbedding(task, "text"), reply.Embeddings[0].Values);
    }

    /// <summary>Exactly <paramref name="expected"/> are alive, one copy each, and the host gauge reports their bytes.</summary>
    /// <remarks>A reply comes after its swap and evictions, so nothing is left to wait for.</remarks>
    private static void AssertResident(TestServer server, string[] expected)
    {
        Assert.Equal(expected, ReachableBoundTasks.Names(server.Backend));
        var truth = ReachableBoundTasks.Bytes(server.Backend);
        Assert.Equal(expected.Length * FakeBackend.BoundBytes, truth);
        Assert.Equal(truth, TierGauges.ResidentBytes(server, "host"));
    }

    private static async Task AssertTiers(TestServer server, params (string Task, ResidencyTier Tier)[] expected)
    {
        foreach (var (task, tier) in expected)
        {
            var info = await server.Registry.GetTaskAsync(new GetTaskRequest { Name = task }, TestServer.AdminHeaders, cancellationToken: Ct);
            Assert.True(info.Tier == tier, $"{task} is in tier {info.Tier}, expected {tier}");
        }
    }
}
