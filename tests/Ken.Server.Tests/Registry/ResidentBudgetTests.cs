using Ken.Format;
using Ken.Format.Deltas;
using Ken.Server.Registry;
using Ken.Server.Scheduling;
using Ken.Server.Tests.Serving;
using Ken.TestSupport;

using Microsoft.Extensions.Logging.Abstractions;

namespace Ken.Server.Tests.Registry;

/// <summary>
/// A registry that must keep every task bound (<c>--swap-mode resident</c>): a budget too small is refused at
/// start-up and at registration with the bytes it needs, and nothing is ever evicted; without the rule the
/// same budget evicts.
/// </summary>
public sealed class ResidentBudgetTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Start_up_is_refused_with_the_bytes_every_task_needs()
    {
        using var folder = new TempDirectory();
        using var backend = new FakeBackend();
        var registry = NewRegistry(folder, 2 * FakeBackend.BoundBytes, keepEveryTask: true, backend, "a", "b", "c");

        var error = Assert.Throws<KenException>(registry.LoadAll);

        Assert.Contains("the 3 tasks", error.Message, StringComparison.Ordinal);
        Assert.Contains($"at least {3 * FakeBackend.BoundBytes} bytes", error.Message, StringComparison.Ordinal);
        Assert.Contains("--swap-mode patch", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_budget_without_the_rule_evicts_instead()
    {
        using var folder = new TempDirectory();
        using var backend = new FakeBackend();
        var registry = NewRegistry(folder, 2 * FakeBackend.BoundBytes, keepEveryTask: false, backend, "a", "b", "c");

        registry.LoadAll();

        Assert.Equal(ResidencyTier.Disk, registry.Get("a").Tier);
        Assert.Equal(2 * FakeBackend.BoundBytes, registry.TierSnapshot().HostBytes);
    }

    [Fact]
    public async Task A_task_that_would_not_fit_is_refused_and_every_registered_task_stays_resident()
    {
        using var folder = new TempDirectory();
        using var backend = new FakeBackend();
        var registry = NewRegistry(folder, 2 * FakeBackend.BoundBytes, keepEveryTask: true, backend, "a", "b");
        registry.LoadAll();

        var bytes = TestDeltas.Bytes("c", TaskKind.Embedding);
        var error = await Assert.ThrowsAsync<ServerOverloadedException>(() =>
            registry.RegisterAsync(new TaskUpload("c", Overwrite: false, Pin: false, bytes.Length, TestDeltas.Sha256(bytes)), Chunks(bytes), Ct));

        Assert.Contains($"3 tasks need {3 * FakeBackend.BoundBytes} bytes", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, registry.Count);
        Assert.Equal(ResidencyTier.Host, registry.Get("a").Tier);
        Assert.Equal(ResidencyTier.Host, registry.Get("b").Tier);
        Assert.Equal(2 * FakeBackend.BoundBytes, registry.TierSnapshot().HostBytes);
        Assert.False(File.Exists(Path.Combine(folder.File("tasks"), "c.ken")));

        // Replacing a task needs no more room than it had.
        var replacement = TestDeltas.Bytes("b", TaskKind.Embedding);
        await registry.RegisterAsync(new TaskUpload("b", Overwrite: true, Pin: false, replacement.Length, TestDeltas.Sha256(replacement)), Chunks(replacement), Ct);
        Assert.Equal(ResidencyTier.Host, registry.Get("a").Tier);
    }

    private static TaskRegistry NewRegistry(TempDirectory folder, long budget, bool keepEveryTask, FakeBackend backend, params string[] tasks)
    {
        var options = new RegistryOptions
        {
            TasksDir = folder.File("tasks"),
            QuarantineDir = folder.File("quarantine"),
            HostDeltaBudget = budget,
            KeepEveryTask = keepEveryTask,
            MaxTaskBytes = 1 << 20,
        };
        Directory.CreateDirectory(options.TasksDir);
        foreach (var task in tasks)
        {
            TestDeltas.Write(options.TasksDir, task, TaskKind.Embedding);
        }

        return new TaskRegistry(options, backend, NullLogger<TaskRegistry>.Instance);
    }

    private static async IAsyncEnumerable<ReadOnlyMemory<byte>> Chunks(byte[] bytes)
    {
        await Task.Yield();
        yield return bytes;
    }
}
