using Ken.Server.Scheduling;

namespace Ken.Server.Tests.Scheduling;

public sealed class DecayedCountTests
{
    private const long HalfLife = 100;

    [Fact]
    public void A_count_halves_every_half_life()
    {
        var count = default(DecayedCount).Add(0, HalfLife, 8);

        Assert.Equal(8, count.ValueAt(0, HalfLife), 9);
        Assert.Equal(4, count.ValueAt(100, HalfLife), 9);
        Assert.Equal(1, count.ValueAt(300, HalfLife), 9);
    }

    [Fact]
    public void Adding_decays_the_old_count_first()
    {
        var count = default(DecayedCount).Add(0, HalfLife, 4).Add(100, HalfLife);

        Assert.Equal(3, count.ValueAt(100, HalfLife), 9);
        Assert.Equal(100, count.At);
    }

    [Fact]
    public void Recent_steady_demand_outranks_an_old_burst()
    {
        var burst = default(DecayedCount).Add(0, HalfLife, 50);
        var steady = default(DecayedCount);
        for (var t = 500; t <= 1000; t += 50)
        {
            steady = steady.Add(t, HalfLife);
        }

        Assert.True(steady.ValueAt(1000, HalfLife) > burst.ValueAt(1000, HalfLife));
    }

    [Fact]
    public void A_time_before_the_last_update_does_not_inflate_the_count()
    {
        var count = default(DecayedCount).Add(100, HalfLife, 2);

        Assert.Equal(2, count.ValueAt(50, HalfLife), 9);
    }

    [Fact]
    public void Popularity_of_an_unknown_task_or_the_base_is_zero()
    {
        var popularity = new TaskPopularity<string>(HalfLife);
        popularity.Count("a", 0);

        Assert.Equal(0, popularity.Of(null, 0));
        Assert.Equal(0, popularity.Of("b", 0));
        Assert.Equal(0.5, popularity.Of("a", 100), 9);
    }
}
