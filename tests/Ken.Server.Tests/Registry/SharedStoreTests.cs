using Ken.Format.Deltas;
using Ken.Server.Registry;
using Ken.Server.Tests.Serving;
using Ken.TestSupport;

using Microsoft.Extensions.Logging.Abstractions;

namespace Ken.Server.Tests.Registry;

/// <summary>
/// Two registries (two replicas) on one shared folder, without processes or a watcher: each
/// <see cref="TaskRegistry.Sync"/> call is what one poll of <see cref="StoreWatcher"/> does. The two
/// versions of a task differ in kind (and so in size), so which one a replica serves is visible.
/// </summary>
public sealed class SharedStoreTests : IDisposable
{
    private static readonly byte[] V1 = TestDeltas.Bytes("t", TaskKind.Embedding);
    private static readonly byte[] V2 = TestDeltas.Bytes("t", TaskKind.Classification);

    private readonly TempDirectory _dir = new();
    private readonly FakeBackend _backend = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_name_a_replica_has_not_seen_is_looked_up_in_the_folder_before_not_found()
    {
        var (one, two) = (Replica(), Replica());
        await Register(one, "t", V1);

        // No poll yet: the request itself finds the file.
        Assert.Equal(0, two.Count);
        var entry = two.Admit("t");
        two.Release(entry);
        Assert.Equal(TaskKind.Embedding, entry.Kind);
        Assert.Equal(V1.Length, entry.FileBytes);
        Assert.Equal(one.Get("t").RegisteredAt, entry.RegisteredAt);
        Assert.Throws<TaskNotFoundException>(() => two.Admit("never-registered"));
    }

    [Fact]
    public async Task A_poll_brings_in_new_tasks_and_drops_unregistered_ones()
    {
        var (one, two) = (Replica(), Replica());
        await Register(one, "t", V1);
        two.Sync();
        Assert.Equal("t", Assert.Single(two.List()).Name);

        two.Unregister("t");

        // Until its next poll replica one still serves what it had; after it, NOT_FOUND.
        Assert.Equal(1, one.Count);
        one.Sync();
        Assert.Equal(0, one.Count);
        Assert.Throws<TaskNotFoundException>(() => one.Admit("t"));
    }

    [Fact]
    public async Task An_overwrite_replaces_the_version_between_requests_never_under_an_admitted_one()
    {
        var (one, two) = (Replica(), Replica());
        await Register(one, "t", V1);
        var admitted = two.Admit("t");

        await Register(one, "t", V2, overwrite: true);
        two.Sync();

        // The request admitted before the poll keeps the whole first version; the next one gets the second.
        Assert.Equal(TaskKind.Embedding, admitted.Kind);
        two.Release(admitted);
        var next = two.Admit("t");
        two.Release(next);
        Assert.Equal(TaskKind.Classification, next.Kind);
        Assert.Equal(V2.Length, next.FileBytes);
    }

    [Fact]
    public async Task Two_replicas_registering_one_new_name_at_once_without_overwrite_first_wins_and_the_other_gets_already_exists()
    {
        var (one, two) = (Replica(), Replica());
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var first = Register(one, "t", V1, gate: release.Task);
        var second = Register(two, "t", V2, gate: release.Task);
        release.SetResult();
        var outcomes = await Task.WhenAll(Outcome(first), Outcome(second));

        Assert.Single(outcomes, o => o is null);
        Assert.Single(outcomes, o => o is TaskExistsException);
        AssertOneVersionEverywhere(one, two);
    }

    [Fact]
    public async Task Two_replicas_overwriting_one_name_at_once_end_on_the_last_rename_everywhere()
    {
        var (one, two) = (Replica(), Replica());
        await Register(one, "t", V1);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var first = Register(one, "t", V2, overwrite: true, gate: release.Task);
        var second = Register(two, "t", V1, overwrite: true, gate: release.Task);
        release.SetResult();
        await Task.WhenAll(first, second);

        AssertOneVersionEverywhere(one, two);
    }

    [Fact]
    public async Task A_pin_set_through_one_replica_is_followed_by_the_other()
    {
        var (one, two) = (Replica(), Replica());
        await Register(one, "t", V1);
        two.Sync();
        Assert.False(two.Get("t").Pinned);

        await Register(one, "t", V1, overwrite: true, pin: true);
        two.Sync();

        Assert.True(two.Get("t").Pinned);
    }

    [Fact]
    public async Task An_evicted_version_that_another_replica_replaced_is_unavailable_not_served_from_the_new_file()
    {
        // A budget of nothing: an idle task's delta leaves host memory at once.
        var one = Replica();
        var two = Replica(budget: 0);
        await Register(one, "t", V1);
        var admitted = two.Admit("t");
        Assert.Equal(ResidencyTier.Disk, admitted.Tier);

        await Register(one, "t", V2, overwrite: true);

        Assert.Throws<TaskVersionGoneException>(() => two.HoldInSlot(admitted));
        two.Release(admitted);
    }

    [Fact]
    public void A_file_that_fails_to_load_stays_in_the_shared_folder_and_is_not_quarantined()
    {
        var tasks = _dir.File("shared");
        Directory.CreateDirectory(tasks);
        var path = TestDeltas.Write(tasks, "bad", TaskKind.Embedding, mismatch: true);
        var leftover = Path.Combine(tasks, ".t.ken.tmp-inprogress");
        File.WriteAllBytes(leftover, [1, 2, 3]);
        var replica = Replica();

        replica.LoadAll();
        replica.Sync();

        Assert.Equal(0, replica.Count);
        Assert.True(File.Exists(path));
        Assert.False(Directory.Exists(_dir.File("quarantine-1")));

        // Another replica's upload in progress is not a crash leftover.
        Assert.True(File.Exists(leftover));
    }

    public void Dispose()
    {
        _backend.Dispose();
        _dir.Dispose();
    }

    private void AssertOneVersionEverywhere(TaskRegistry one, TaskRegistry two)
    {
        one.Sync();
        two.Sync();
        var onDisk = File.ReadAllBytes(Path.Combine(_dir.File("shared"), "t.ken"));
        Assert.True(onDisk.SequenceEqual(V1) || onDisk.SequenceEqual(V2), "the file is one whole version");
        var kind = onDisk.SequenceEqual(V1) ? TaskKind.Embedding : TaskKind.Classification;
        Assert.Equal(kind, one.Get("t").Kind);
        Assert.Equal(kind, two.Get("t").Kind);
        Assert.Equal(onDisk.Length, one.Get("t").FileBytes);
        Assert.Equal(onDisk.Length, two.Get("t").FileBytes);
        Assert.Equal(["t.ken"], Directory.GetFiles(_dir.File("shared")).Select(Path.GetFileName));
    }

    private int _replicas;

    private TaskRegistry Replica(long budget = 1 << 20)
    {
        var n = Interlocked.Increment(ref _replicas);
        var options = new RegistryOptions
        {
            TasksDir = _dir.File("shared"),
            QuarantineDir = _dir.File("quarantine-" + n),
            HostDeltaBudget = budget,
            MaxTaskBytes = 1 << 20,
            Shared = true,
        };
        return new TaskRegistry(options, _backend, NullLogger<TaskRegistry>.Instance);
    }

    private static async Task<Exception?> Outcome(Task task)
    {
        try
        {
            await task;
            return null;
        }
        catch (TaskExistsException e)
        {
            return e;
        }
    }

    private static Task<TaskEntry> Register(TaskRegistry registry, string name, byte[] bytes, bool overwrite = false, bool pin = false, Task? gate = null) =>
        registry.RegisterAsync(new TaskUpload(name, overwrite, pin, bytes.Length, TestDeltas.Sha256(bytes)), Chunks(bytes, gate ?? Task.CompletedTask), Ct);

    /// <summary>The whole file but the last byte, then the last byte once <paramref name="gate"/> opens, so uploads can finish together.</summary>
    private static async IAsyncEnumerable<ReadOnlyMemory<byte>> Chunks(byte[] bytes, Task gate)
    {
        await Task.Yield();
        yield return bytes.AsMemory(0, bytes.Length - 1);
        await gate;
        yield return bytes.AsMemory(bytes.Length - 1);
    }
}
