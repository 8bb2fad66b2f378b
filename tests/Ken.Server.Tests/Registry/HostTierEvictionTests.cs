using System.Runtime.CompilerServices;

using Ken.Format.Deltas;
using Ken.Server.Registry;
using Ken.Server.Tests.Serving;
using Ken.TestSupport;

using Microsoft.Extensions.Logging.Abstractions;

namespace Ken.Server.Tests.Registry;

/// <summary>
/// The host tier under a budget of two bound tasks, driven the way the slot workers drive it: a held
/// or pinned task is never evicted, the resident bytes are what is really alive, and a task becomes
/// evictable as soon as its slot lets it go.
/// </summary>
public sealed class HostTierEvictionTests
{
    private const long Budget = 2 * FakeBackend.BoundBytes;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Eviction_spares_pinned_and_slot_held_tasks_and_the_resident_bytes_are_what_is_alive()
    {
        using var folder = new TempDirectory();
        using var backend = new FakeBackend();
        var registry = NewRegistry(folder, Budget, backend, "held", "idle-a", "idle-b");
        var pinned = TestDeltas.Bytes("pinned", TaskKind.Embedding);
        await registry.RegisterAsync(new TaskUpload("pinned", Overwrite: false, Pin: true, pinned.Length, TestDeltas.Sha256(pinned)), Chunks(pinned), Ct);
        AssertResident(registry, backend, ["idle-b", "pinned"]);

        // The weight slots: whatever a slot holds stays reachable through it, whatever the registry does.
        var slots = new SlotStandIns(registry, 2);
        slots.SwapIn(0, registry.Get("held"));
        AssertResident(registry, backend, ["held", "pinned"]);

        // Over budget, and "held" is the least recently used unpinned task, but a slot holds it.
        slots.SwapIn(1, registry.Get("idle-a"));
        AssertResident(registry, backend, ["held", "idle-a", "pinned"]);
        AssertTier(registry, ("held", ResidencyTier.Slot), ("idle-a", ResidencyTier.Slot), ("idle-b", ResidencyTier.Disk), ("pinned", ResidencyTier.Host));

        // Slot 1 swaps to "idle-b" as the scheduler does it: hold the new task, then let the old one go.
        slots.SwapIn(1, registry.Get("idle-b"));
        AssertResident(registry, backend, ["held", "idle-b", "pinned"]);
        AssertTier(registry, ("held", ResidencyTier.Slot), ("idle-a", ResidencyTier.Disk), ("idle-b", ResidencyTier.Slot), ("pinned", ResidencyTier.Host));

        // Once its slot lets it go, "held" is idle and the least recently used: it goes.
        slots.Empty(0);
        AssertResident(registry, backend, ["idle-b", "pinned"]);
        AssertTier(registry, ("held", ResidencyTier.Disk), ("idle-a", ResidencyTier.Disk), ("idle-b", ResidencyTier.Slot), ("pinned", ResidencyTier.Host));
        GC.KeepAlive(slots);
    }

    [Fact]
    public void An_admitted_request_keeps_its_task_and_an_unregistered_task_stays_counted_while_a_slot_holds_it()
    {
        using var folder = new TempDirectory();
        using var backend = new FakeBackend();
        var registry = NewRegistry(folder, FakeBackend.BoundBytes, backend, "a", "b", "c");
        AssertResident(registry, backend, ["c"]);

        // A request admitted for "c" keeps it resident until it is released.
        var admitted = registry.Admit("c");
        var slots = new SlotStandIns(registry, 1);
        slots.SwapIn(0, registry.Get("b"));
        AssertResident(registry, backend, ["b", "c"]);
        registry.Release(admitted);
        AssertResident(registry, backend, ["b"]);

        // Unregistered while a slot holds it: no longer listed, still resident and counted until the slot lets it go.
        var retired = registry.Unregister("b");
        Assert.True(retired.Retired);
        AssertResident(registry, backend, ["b"]);
        slots.Empty(0);
        AssertResident(registry, backend, []);
        GC.KeepAlive(slots);
    }

    /// <summary>A registry over <paramref name="folder"/> that loaded <paramref name="tasks"/> from disk, in that order.</summary>
    private static TaskRegistry NewRegistry(TempDirectory folder, long budget, FakeBackend backend, params string[] tasks)
    {
        var options = new RegistryOptions
        {
            TasksDir = folder.File("tasks"),
            QuarantineDir = folder.File("quarantine"),
            HostDeltaBudget = budget,
            MaxTaskBytes = 1 << 20,
        };
        Directory.CreateDirectory(options.TasksDir);
        foreach (var task in tasks)
        {
            TestDeltas.Write(options.TasksDir, task, TaskKind.Embedding);
        }

        var registry = new TaskRegistry(options, backend, NullLogger<TaskRegistry>.Instance);
        registry.LoadAll();
        return registry;
    }

    /// <summary>The bound tasks alive are exactly <paramref name="expected"/>, one copy each, and the host bytes the registry reports match them.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AssertResident(TaskRegistry registry, FakeBackend backend, string[] expected)
    {
        Assert.Equal(expected, ReachableBoundTasks.Names(backend));
        Assert.Equal(ReachableBoundTasks.Bytes(backend), registry.TierSnapshot().HostBytes);
        Assert.Equal(expected.Length * FakeBackend.BoundBytes, registry.TierSnapshot().HostBytes);
    }

    private static void AssertTier(TaskRegistry registry, params (string Task, ResidencyTier Tier)[] expected)
    {
        foreach (var (task, tier) in expected)
        {
            Assert.True(registry.Get(task).Tier == tier, $"{task} is in tier {registry.Get(task).Tier}, expected {tier}");
        }
    }

    private static async IAsyncEnumerable<ReadOnlyMemory<byte>> Chunks(byte[] bytes)
    {
        await Task.Yield();
        for (var offset = 0; offset < bytes.Length; offset += 100)
        {
            yield return bytes.AsMemory(offset, Math.Min(100, bytes.Length - offset));
        }
    }
}
