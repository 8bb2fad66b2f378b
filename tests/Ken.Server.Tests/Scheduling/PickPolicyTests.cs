using Ken.Server.Scheduling;

namespace Ken.Server.Tests.Scheduling;

/// <summary>The pick policy alone: tasks are strings, time is whole seconds.</summary>
public sealed class PickPolicyTests
{
    private const long Second = 1000;
    private static readonly PickPolicy<string> Policy = new(Second);

    [Fact]
    public void A_slot_serves_its_own_waiting_task_first_even_when_another_waited_longer()
    {
        SlotView<string>[] slots = [new(0, "a", false, 0)];
        QueueView<string>[] waiting = [new("b", 0, 50), new("a", 99 * Second, 1)];

        Assert.Equal(new SlotPick<string>("a", Hit: true), Policy.Pick(0, slots, waiting, 100 * Second));
    }

    [Fact]
    public void Age_beats_queue_length_in_the_end_so_no_task_starves()
    {
        SlotView<string>[] slots = [new(0, null, false, 0)];

        // Equal age: the longer queue goes first.
        Assert.Equal("long", Policy.Pick(0, slots, [new("long", 0, 100), new("short", 0, 1)], 10 * Second)!.Value.Task);

        // A lone request that waited 60 s beats 100 requests that waited 1 s: 60 × 2 > 1 × (1 + log2 101).
        QueueView<string>[] waiting = [new("busy", 59 * Second, 100), new("lonely", 0, 1)];
        Assert.Equal(new SlotPick<string>("lonely", Hit: false), Policy.Pick(0, slots, waiting, 60 * Second));
    }

    [Fact]
    public void The_least_recently_used_free_slot_takes_the_swap_and_the_others_leave_it()
    {
        SlotView<string>[] slots = [new(0, "x", false, 5 * Second), new(1, "y", false, 1 * Second)];
        QueueView<string>[] waiting = [new("z", 0, 1)];

        Assert.Null(Policy.Pick(0, slots, waiting, 10 * Second));
        Assert.Equal(new SlotPick<string>("z", Hit: false), Policy.Pick(1, slots, waiting, 10 * Second));
    }

    [Fact]
    public void An_empty_slot_is_evicted_before_any_held_task_and_a_busy_slot_never()
    {
        SlotView<string>[] emptyLater = [new(0, "x", false, 1 * Second), new(1, null, false, 9 * Second)];
        QueueView<string>[] waiting = [new("z", 0, 1)];
        Assert.Null(Policy.Pick(0, emptyLater, waiting, 10 * Second));
        Assert.Equal("z", Policy.Pick(1, emptyLater, waiting, 10 * Second)!.Value.Task);

        SlotView<string>[] busyOlder = [new(0, "x", false, 5 * Second), new(1, "y", true, 1 * Second)];
        Assert.Equal("z", Policy.Pick(0, busyOlder, waiting, 10 * Second)!.Value.Task);
    }

    [Fact]
    public void A_task_another_free_slot_holds_is_left_to_that_slot()
    {
        SlotView<string>[] slots = [new(0, null, false, 0), new(1, "a", false, 0)];

        Assert.Null(Policy.Pick(0, slots, [new QueueView<string>("a", 0, 5)], 10 * Second));
        Assert.Equal(new SlotPick<string>("a", Hit: true), Policy.Pick(1, slots, [new QueueView<string>("a", 0, 5)], 10 * Second));

        // Held by a busy slot instead: another free slot may swap it in.
        SlotView<string>[] busy = [new(0, null, false, 0), new(1, "a", true, 0)];
        Assert.Equal(new SlotPick<string>("a", Hit: false), Policy.Pick(0, busy, [new QueueView<string>("a", 0, 5)], 10 * Second));
    }

    [Fact]
    public void Nothing_waiting_means_nothing_to_pick()
    {
        SlotView<string>[] slots = [new(0, "a", false, 0)];
        Assert.Null(Policy.Pick(0, slots, [], 10 * Second));
    }
}
