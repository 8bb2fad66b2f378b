using Ken.Runtime.Backends.Cuda;

namespace Ken.Runtime.Tests.Backends.Cuda;

public sealed class DeviceDeltaLedgerTests
{
    private sealed class Task(string name)
    {
        public string Name { get; } = name;
    }

    [Fact]
    public void Within_budget_nothing_is_evicted()
    {
        var ledger = new DeviceDeltaLedger<Task>(300);
        ledger.Add(new Task("a"), "a", 100);
        ledger.Add(new Task("b"), "b", 200);
        Assert.Empty(ledger.TakeVictims());
        Assert.Equal(300, ledger.Bytes);
        Assert.Equal(2, ledger.Count);
    }

    [Fact]
    public void Over_budget_the_least_recently_used_goes_first_until_it_fits()
    {
        var ledger = new DeviceDeltaLedger<Task>(250);
        Task a = new("a"), b = new("b"), c = new("c");
        ledger.Add(a, "a", 100);
        ledger.Add(b, "b", 100);
        ledger.Add(c, "c", 100);
        ledger.Touch(a);
        Assert.Equal([b], ledger.TakeVictims());
        Assert.Equal(200, ledger.Bytes);
        Assert.False(ledger.Contains(b));

        // Room for an incoming 150 bytes: c (older than a) goes, and then 100 + 150 fits.
        Assert.Equal([c], ledger.TakeVictims(incoming: 150));
        Assert.Equal(100, ledger.Bytes);
        Assert.Equal([a], ledger.TakeVictims(incoming: 151));
    }

    [Fact]
    public void A_held_task_stays_even_over_budget_and_goes_once_released()
    {
        var ledger = new DeviceDeltaLedger<Task>(100);
        Task a = new("a"), b = new("b");
        ledger.Add(a, "a", 100);
        ledger.Hold(a);
        ledger.Add(b, "b", 100);
        ledger.Hold(b);
        Assert.Empty(ledger.TakeVictims());
        Assert.Equal(200, ledger.Bytes);

        ledger.Unhold(a);
        Assert.Equal([a], ledger.TakeVictims());
        Assert.Equal(1, ledger.Holders(b));
        Assert.Throws<InvalidOperationException>(() => ledger.Unhold(a));
    }

    [Fact]
    public void A_pinned_task_stays_until_unpinned_or_superseded()
    {
        var ledger = new DeviceDeltaLedger<Task>(100);
        ledger.Pin("p", pinned: true);
        Task p1 = new("p"), x = new("x");
        ledger.Add(p1, "p", 100);
        ledger.Add(x, "x", 100);
        Assert.Equal([x], ledger.TakeVictims());

        // A rebound copy of the pinned task supersedes the first: the old copy may go, the new one stays.
        var p2 = new Task("p");
        ledger.Add(p2, "p", 100);
        Assert.Equal([p1], ledger.TakeVictims());
        Assert.True(ledger.Contains(p2));

        ledger.Add(new Task("y"), "y", 50);
        ledger.Pin("p", pinned: false);
        Assert.Equal([p2], ledger.TakeVictims());
    }

    [Fact]
    public void After_running_out_of_memory_every_evictable_task_goes()
    {
        var ledger = new DeviceDeltaLedger<Task>(1000);
        Task held = new("held"), pinned = new("pinned"), idle1 = new("idle1"), idle2 = new("idle2");
        ledger.Pin("pinned", pinned: true);
        foreach (var task in (Task[])[held, pinned, idle1, idle2])
        {
            ledger.Add(task, task.Name, 10);
        }

        ledger.Hold(held);
        Assert.Equal([idle1, idle2], ledger.TakeAllEvictable());
        Assert.Equal(20, ledger.Bytes);
    }

    [Fact]
    public void Adding_a_resident_task_twice_is_refused()
    {
        var ledger = new DeviceDeltaLedger<Task>(1000);
        var a = new Task("a");
        ledger.Add(a, "a", 10);
        Assert.Throws<InvalidOperationException>(() => ledger.Add(a, "a", 10));
        Assert.Throws<InvalidOperationException>(() => ledger.Touch(new Task("absent")));
    }
}
