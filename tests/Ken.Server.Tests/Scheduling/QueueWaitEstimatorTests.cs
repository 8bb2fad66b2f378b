using Ken.Server.Scheduling;

namespace Ken.Server.Tests.Scheduling;

public sealed class QueueWaitEstimatorTests
{
    [Fact]
    public void Nothing_measured_estimates_no_wait()
    {
        var estimator = new QueueWaitEstimator(executors: 1);

        Assert.Equal(0, estimator.EstimateSeconds(new QueueBacklog(1000, 10)));
        Assert.Equal(0, estimator.HitTextsPerSecond);
    }

    [Fact]
    public void The_first_run_sets_the_rate_and_later_runs_move_it_by_the_smoothing_factor()
    {
        var estimator = new QueueWaitEstimator(executors: 1, smoothing: 0.5);

        estimator.ObserveRun(texts: 4, seconds: 0.4);
        Assert.Equal(0.1, estimator.SecondsPerText, 12);
        Assert.Equal(10, estimator.HitTextsPerSecond, 9);

        estimator.ObserveRun(texts: 2, seconds: 0.6);
        Assert.Equal(0.2, estimator.SecondsPerText, 12);
    }

    [Fact]
    public void The_wait_is_the_texts_ahead_over_the_rate_shared_by_the_executors_of_the_queued_tasks()
    {
        var one = new QueueWaitEstimator(executors: 1);
        var two = new QueueWaitEstimator(executors: 2);
        one.ObserveRun(10, 0.5);
        two.ObserveRun(10, 0.5);

        Assert.Equal(2.5, one.EstimateSeconds(new QueueBacklog(50, 0, Tasks: 2)), 12);
        Assert.Equal(1.25, two.EstimateSeconds(new QueueBacklog(50, 0, Tasks: 2)), 12);
        Assert.Equal(1.25, two.EstimateSeconds(new QueueBacklog(50, 0, Tasks: 5)), 12);
        Assert.Equal(0, one.EstimateSeconds(new QueueBacklog(0, 0)));
    }

    [Fact]
    public void One_task_s_queue_is_served_by_one_executor_at_a_time()
    {
        var estimator = new QueueWaitEstimator(executors: 2);
        estimator.ObserveRun(10, 0.5);

        // Every queued text is of one task: the second executor cannot help.
        Assert.Equal(2.5, estimator.EstimateSeconds(new QueueBacklog(50, 0, Tasks: 1, OwnTexts: 50)), 12);

        // Two tasks, but most of the work is the request's own task: its queue alone takes longer than the share.
        Assert.Equal(2.25, estimator.EstimateSeconds(new QueueBacklog(50, 0, Tasks: 2, OwnTexts: 45)), 12);
    }

    [Fact]
    public void What_is_left_of_the_running_batches_counts_shared_and_for_its_own_task_in_full()
    {
        var estimator = new QueueWaitEstimator(executors: 2);
        estimator.ObserveRun(10, 0.5);
        estimator.ObserveSwitch(0.2);

        // A 10-text batch started 0.1 s ago has 0.4 s left; a switch just started has its switch and nothing of its texts.
        Assert.Equal(0.4, estimator.RemainingSeconds(texts: 10, switching: false, elapsed: 0.1), 12);
        Assert.Equal(0.2, estimator.RemainingSeconds(texts: 0, switching: true, elapsed: 0), 12);
        Assert.Equal(0, estimator.RemainingSeconds(texts: 10, switching: false, elapsed: 5));

        // 20 queued texts (1 s) and 0.8 s left running, over two executors; its own task's batch (0.4 s) and 4 texts of its own.
        Assert.Equal(0.9, estimator.EstimateSeconds(new QueueBacklog(20, 0, Tasks: 2, OwnTexts: 4, RunningSeconds: 0.8, OwnRunningSeconds: 0.4)), 12);
        Assert.Equal(1.6, estimator.EstimateSeconds(new QueueBacklog(20, 0, Tasks: 2, OwnTexts: 20, RunningSeconds: 0.8, OwnRunningSeconds: 0.6)), 12);
    }

    [Fact]
    public void Switches_ahead_add_the_measured_switch_cost_and_its_own_switch_does_not()
    {
        var estimator = new QueueWaitEstimator(executors: 2);
        estimator.ObserveRun(1, 0.01);
        estimator.ObserveSwitch(0.3);

        var hit = estimator.EstimateSeconds(new QueueBacklog(20, 0));
        var behindSwitches = estimator.EstimateSeconds(new QueueBacklog(20, 2, Tasks: 3));

        Assert.Equal(0.2, hit, 12);
        Assert.Equal((0.2 + (2 * 0.3)) / 2, behindSwitches, 12);

        // Nothing ahead: admitted whatever its own switch costs (a switch slower than the limit must not refuse an idle server).
        estimator.ObserveSwitch(30);
        Assert.Equal(0, estimator.EstimateSeconds(new QueueBacklog(0, 0)));
    }

    [Fact]
    public void A_slower_backend_raises_the_estimate_as_it_is_measured()
    {
        var estimator = new QueueWaitEstimator(executors: 1);
        estimator.ObserveRun(8, 0.08);
        var before = estimator.EstimateSeconds(new QueueBacklog(100, 0));
        for (var i = 0; i < 50; i++)
        {
            estimator.ObserveRun(8, 0.8);
        }

        var after = estimator.EstimateSeconds(new QueueBacklog(100, 0));
        Assert.Equal(1, before, 9);
        Assert.InRange(after, 9.9, 10.0);
    }

    [Theory]
    [InlineData(0, 0.1)]
    [InlineData(4, -1)]
    [InlineData(4, double.NaN)]
    [InlineData(4, double.PositiveInfinity)]
    public void Measurements_that_say_nothing_are_ignored(int texts, double seconds)
    {
        var estimator = new QueueWaitEstimator(executors: 1);
        estimator.ObserveRun(4, 0.4);

        estimator.ObserveRun(texts, seconds);
        estimator.ObserveSwitch(seconds < 0 || double.IsNaN(seconds) || double.IsInfinity(seconds) ? seconds : -seconds);

        Assert.Equal(0.1, estimator.SecondsPerText, 12);
        Assert.Equal(0, estimator.SecondsPerSwitch);
    }

    [Theory]
    [InlineData(0, 0.2)]
    [InlineData(1, 0)]
    [InlineData(1, 1.5)]
    public void Bad_settings_are_refused(int executors, double smoothing) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new QueueWaitEstimator(executors, smoothing));
}
