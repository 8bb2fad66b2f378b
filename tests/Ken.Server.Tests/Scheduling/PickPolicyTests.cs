using Ken.Server.Scheduling;

namespace Ken.Server.Tests.Scheduling;

/// <summary>The pick policy alone: tasks are strings, time is whole seconds.</summary>
public sealed class PickPolicyTests
{
    private const long Second = 1000;
    private const long MiB = 1L << 20;
    private static readonly PickPolicy<string> Policy = new(Second, switchBytesPerRequest: 32 * MiB, hitPreference: TimeSpan.FromSeconds(30));

    [Fact]
    public void A_free_slot_holding_a_waiting_task_is_served_first_even_when_another_task_waited_longer()
    {
        SlotView<string>[] slots = [new(0, null, false, 0), new(1, "a", false, 0)];
        QueueView<string>[] waiting = [new("b", 0, 50), new("a", 9 * Second, 1)];

        Assert.Equal(new SlotPick<string>(1, "a", Hit: true), Policy.Pick(slots, waiting, 10 * Second));
    }

    [Fact]
    public void Among_hits_the_most_urgent_goes_first()
    {
        SlotView<string>[] slots = [new(0, "a", false, 0), new(1, "b", false, 0)];
        QueueView<string>[] waiting = [new("a", 9 * Second, 1), new("b", 2 * Second, 1)];

        Assert.Equal(new SlotPick<string>(1, "b", Hit: true), Policy.Pick(slots, waiting, 10 * Second));
    }

    [Fact]
    public void A_task_no_free_slot_holds_beats_hits_once_it_waited_the_hit_preference_longer_than_the_hit()
    {
        SlotView<string>[] slots = [new(0, "hot", false, 0), new(1, "warm", false, 0)];

        // The cold request is 25 s older than the hit's oldest, within the preference (30 s): the hit.
        Assert.Equal(new SlotPick<string>(0, "hot", Hit: true), Policy.Pick(slots, [new("hot", 25 * Second, 3), new("cold", 0, 1)], 40 * Second));

        // Under overload every queue is old; only the gap counts, so hits still go first.
        Assert.Equal(new SlotPick<string>(0, "hot", Hit: true), Policy.Pick(slots, [new("hot", 100 * Second, 3), new("cold", 80 * Second, 1)], 1000 * Second));

        // 31 s older than the hit: the cold task, swapped into the slot whose task has no waiting work.
        QueueView<string>[] starving = [new("hot", 31 * Second, 3), new("cold", 0, 1)];
        Assert.Equal(new SlotPick<string>(1, "cold", Hit: false), Policy.Pick(slots, starving, 40 * Second));

        // Every free slot holds waiting work: the cold task still goes, into one of them.
        QueueView<string>[] allHot = [new("hot", 31 * Second, 3), new("warm", 31 * Second, 3), new("cold", 0, 1)];
        Assert.Equal("cold", Policy.Pick(slots, allHot, 40 * Second)!.Value.Task);
    }

    [Fact]
    public void Age_beats_queue_length_in_the_end_so_no_task_starves()
    {
        SlotView<string>[] slots = [new(0, null, false, 0)];

        // Equal age: the longer queue goes first.
        Assert.Equal("long", Policy.Pick(slots, [new("long", 0, 100), new("short", 0, 1)], 10 * Second)!.Value.Task);

        // A lone request that waited 60 s beats 100 requests that waited 1 s: 60 × 2 > 1 × (1 + log2 101).
        QueueView<string>[] waiting = [new("busy", 59 * Second, 100), new("lonely", 0, 1)];
        Assert.Equal(new SlotPick<string>(0, "lonely", Hit: false), Policy.Pick(slots, waiting, 60 * Second));
    }

    [Fact]
    public void Equal_urgency_goes_to_the_task_whose_switch_moves_fewer_bytes()
    {
        SlotView<string>[] slots = [new(0, null, false, 0)];
        QueueView<string>[] waiting = [new("dense", 0, 1, 87 * MiB), new("blocky", 0, 1, 4 * MiB)];

        Assert.Equal("blocky", Policy.Pick(slots, waiting, 10 * Second)!.Value.Task);
    }

    [Fact]
    public void More_queued_work_pays_for_a_costlier_switch()
    {
        SlotView<string>[] slots = [new(0, null, false, 0)];

        // 30 requests amortize a full switch (87 MiB ≈ 2.7 requests' worth); one request behind a 4 MiB switch does not win.
        QueueView<string>[] waiting = [new("cheap", 0, 1, 4 * MiB), new("crowded", 0, 30, 87 * MiB)];
        Assert.Equal("crowded", Policy.Pick(slots, waiting, 10 * Second)!.Value.Task);

        // The cost factor is bounded, age is not: an expensive lone task wins once it waited long enough.
        QueueView<string>[] aged = [new("cheap", 50 * Second, 1, 0), new("dense", 0, 1, 87 * MiB)];
        Assert.Equal("dense", Policy.Pick(slots, aged, 60 * Second)!.Value.Task);
    }

    [Fact]
    public void The_swap_goes_to_an_empty_slot_then_the_least_popular_then_the_least_recently_used()
    {
        QueueView<string>[] waiting = [new("z", 0, 1)];

        SlotView<string>[] withEmpty = [new(0, "x", false, 1 * Second, 0.1), new(1, null, false, 9 * Second)];
        Assert.Equal(1, Policy.Pick(withEmpty, waiting, 10 * Second)!.Value.Slot);

        // The popular task's slot stays even though it was used longer ago.
        SlotView<string>[] byPopularity = [new(0, "popular", false, 1 * Second, 50), new(1, "rare", false, 9 * Second, 2)];
        Assert.Equal(1, Policy.Pick(byPopularity, waiting, 10 * Second)!.Value.Slot);

        SlotView<string>[] tie = [new(0, "x", false, 5 * Second, 2), new(1, "y", false, 1 * Second, 2)];
        Assert.Equal(1, Policy.Pick(tie, waiting, 10 * Second)!.Value.Slot);
    }

    [Fact]
    public void A_busy_slot_is_never_the_victim_and_no_free_slot_means_no_pick()
    {
        QueueView<string>[] waiting = [new("z", 0, 1)];
        SlotView<string>[] busyOlder = [new(0, "x", false, 5 * Second, 9), new(1, "y", true, 1 * Second, 0)];
        Assert.Equal(new SlotPick<string>(0, "z", Hit: false), Policy.Pick(busyOlder, waiting, 10 * Second));

        SlotView<string>[] allBusy = [new(0, "x", true, 0), new(1, "y", true, 0)];
        Assert.Null(Policy.Pick(allBusy, waiting, 10 * Second));
    }

    [Fact]
    public void A_task_held_only_by_a_busy_slot_gets_a_second_slot_for_more_work_or_a_long_wait_only()
    {
        SlotView<string>[] slots = [new(0, null, false, 0), new(1, "a", true, 0)];

        // One request: it waits for its busy slot, which serves it as a hit once free.
        Assert.Null(Policy.Pick(slots, [new QueueView<string>("a", 9 * Second, 1)], 10 * Second));

        // Several requests, or one that waited past the hit preference: a second copy in the free slot.
        Assert.Equal(new SlotPick<string>(0, "a", Hit: false), Policy.Pick(slots, [new QueueView<string>("a", 9 * Second, 5)], 10 * Second));
        Assert.Equal(new SlotPick<string>(0, "a", Hit: false), Policy.Pick(slots, [new QueueView<string>("a", 0, 1)], 31 * Second));
    }

    [Fact]
    public void Nothing_waiting_means_nothing_to_pick()
    {
        SlotView<string>[] slots = [new(0, "a", false, 0)];
        Assert.Null(Policy.Pick(slots, [], 10 * Second));
        Assert.Null(Policy.PickPrefetch(slots, [], 10 * Second));
    }

    [Fact]
    public void Prefetch_switches_an_idle_slot_to_the_task_that_would_be_swapped_in_next()
    {
        // Both executors busy on slots 0 and 1; slot 2 idle with a task nobody waits for.
        SlotView<string>[] slots = [new(0, "a", true, 0), new(1, "b", true, 0), new(2, "old", false, 0, 1), new(3, "kept", false, 0, 9)];
        QueueView<string>[] waiting = [new("c", 2 * Second, 1), new("d", 0, 4)];

        Assert.Equal(new SlotPick<string>(2, "d", Hit: false), Policy.PickPrefetch(slots, waiting, 10 * Second));
    }

    [Fact]
    public void Prefetch_leaves_tasks_a_slot_holds_and_slots_holding_waiting_work()
    {
        // "a" runs on busy slot 0 and will be a hit there; "k" is already in idle slot 1.
        SlotView<string>[] slots = [new(0, "a", true, 0), new(1, "k", false, 0)];
        Assert.Null(Policy.PickPrefetch(slots, [new("a", 0, 3), new("k", 0, 1)], 10 * Second));

        // Only idle slot holds waiting work: evicting it would trade one hit for another.
        Assert.Null(Policy.PickPrefetch(slots, [new("k", 0, 1), new("z", 0, 9)], 10 * Second));
    }

    [Fact]
    public void Under_a_zipf_load_evicting_by_decayed_popularity_swaps_less_than_evicting_by_recency()
    {
        var byPopularity = ZipfSwaps(usePopularity: true);
        var byRecency = ZipfSwaps(usePopularity: false);

        Assert.True(byPopularity < byRecency * 0.8, $"swaps by popularity {byPopularity}, by recency {byRecency}");
    }

    /// <summary>
    /// One executor, three slots, 20 tasks drawn with Zipf exponent 1 (seeded), one request at a time: the
    /// number of swaps the policy makes when slots carry the tasks' decayed counts, or none (recency alone).
    /// </summary>
    private static int ZipfSwaps(bool usePopularity)
    {
        const int tasks = 20;
        const int requests = 4000;
        var names = new string[tasks];
        var weights = new double[tasks];
        double total = 0;
        for (var i = 0; i < tasks; i++)
        {
            names[i] = "t" + i;
            weights[i] = 1.0 / (i + 1);
            total += weights[i];
        }

        var random = new Random(7);
        var popularity = new TaskPopularity<string>(halfLife: 200 * Second);
        var slots = new SlotView<string>[] { new(0, null, false, 0), new(1, null, false, 0), new(2, null, false, 0) };
        var swaps = 0;
        for (var r = 0; r < requests; r++)
        {
            var now = r * Second;
            var draw = random.NextDouble() * total;
            var task = 0;
            while (draw > weights[task] && task < tasks - 1)
            {
                draw -= weights[task];
                task++;
            }

            popularity.Count(names[task], now);
            for (var s = 0; s < slots.Length; s++)
            {
                slots[s] = slots[s] with { Popularity = usePopularity ? popularity.Of(slots[s].Held, now) : 0 };
            }

            var pick = Policy.Pick(slots, [new QueueView<string>(names[task], now, 1)], now)!.Value;
            if (!pick.Hit)
            {
                swaps++;
            }

            slots[pick.Slot] = slots[pick.Slot] with { Held = pick.Task, LastUsed = now };
        }

        return swaps;
    }
}
