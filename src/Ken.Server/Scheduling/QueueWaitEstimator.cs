namespace Ken.Server.Scheduling;

/// <summary>
/// Estimates how long a new request would wait in the queues, from measured service rates: an exponentially
/// weighted moving average of the seconds a batch takes per text (the hit path; the caller decides what a
/// batch's time covers: the scheduler counts from the end of the previous batch while an executor is busy) and of the seconds a slot
/// switch takes (what the switch path adds). A plain calculator: no threads, no clock, no locks; callers pass
/// measured durations in and serialize access (the scheduler uses it under the queues' gate).
/// </summary>
/// <remarks>
/// The wait of a request is the time the executors need to serve what is queued ahead of it: the queued
/// texts times the seconds per text, plus a switch for each queued task no slot holds, shared by the
/// executors that can work on it at once. A task's queue is served by one executor at a time, so that is
/// at most one executor per queued task, and never less than its own task's queue alone takes. The batches
/// and switches already running count with what is left of them (<see cref="RemainingSeconds"/>). Its own
/// switch, when its task is in no slot, is not counted: it is serving it, not waiting. So a request's latency
/// is bounded by its estimated wait plus its own switch and batch. Until the first batch has been
/// measured nothing is known, and every estimate is zero.
/// </remarks>
internal sealed class QueueWaitEstimator
{
    /// <summary>Weight of the newest measurement in each average.</summary>
    public const double DefaultSmoothing = 0.2;

    private readonly double _smoothing;
    private readonly int _executors;
    private long _runs;
    private long _switches;

    public QueueWaitEstimator(int executors, double smoothing = DefaultSmoothing)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(executors, 1);
        if (smoothing is <= 0 or > 1 || double.IsNaN(smoothing))
        {
            throw new ArgumentOutOfRangeException(nameof(smoothing), smoothing, "the smoothing factor must be in (0, 1].");
        }

        _executors = executors;
        _smoothing = smoothing;
    }

    /// <summary>Average seconds a batch run takes per text; 0 until the first run was measured.</summary>
    public double SecondsPerText { get; private set; }

    /// <summary>Average seconds a slot switch takes; 0 until the first switch was measured.</summary>
    public double SecondsPerSwitch { get; private set; }

    /// <summary>Texts per second one executor serves on the hit path (no switch); 0 until measured.</summary>
    public double HitTextsPerSecond => SecondsPerText > 0 ? 1 / SecondsPerText : 0;

    /// <summary>Counts one batch run of <paramref name="texts"/> texts that took <paramref name="seconds"/>.</summary>
    public void ObserveRun(int texts, double seconds)
    {
        if (texts <= 0 || !(seconds >= 0) || double.IsInfinity(seconds))
        {
            return;
        }

        SecondsPerText = _runs++ == 0 ? seconds / texts : Smooth(SecondsPerText, seconds / texts);
    }

    /// <summary>Counts one slot switch that took <paramref name="seconds"/>.</summary>
    public void ObserveSwitch(double seconds)
    {
        if (!(seconds >= 0) || double.IsInfinity(seconds))
        {
            return;
        }

        SecondsPerSwitch = _switches++ == 0 ? seconds : Smooth(SecondsPerSwitch, seconds);
    }

    /// <summary>
    /// Seconds a new request would wait behind <paramref name="ahead"/>: the work ahead of it, not its own
    /// service (a switch to its task is part of serving it; counting it would refuse every request of a task
    /// whose switch alone takes longer than the limit, even on an idle server, and every retry of it).
    /// </summary>
    public double EstimateSeconds(QueueBacklog ahead)
    {
        var work = (Math.Max(0, ahead.Texts) * SecondsPerText) + (Math.Max(0, ahead.Switches) * SecondsPerSwitch) + Math.Max(0, ahead.RunningSeconds);
        var parallel = Math.Clamp(ahead.Tasks, 1, _executors);
        var own = (Math.Max(0, ahead.OwnTexts) * SecondsPerText) + Math.Max(0, ahead.OwnRunningSeconds);
        return Math.Max(work / parallel, own);
    }

    /// <summary>
    /// Seconds left, at the measured rates, of a batch of <paramref name="texts"/> texts (0 while its slot is
    /// still switching: its texts are queued yet) that an executor started <paramref name="elapsed"/> seconds
    /// ago, after a switch when <paramref name="switching"/>; never negative.
    /// </summary>
    public double RemainingSeconds(int texts, bool switching, double elapsed) =>
        Math.Max(0, (switching ? SecondsPerSwitch : 0) + (Math.Max(0, texts) * SecondsPerText) - Math.Max(0, elapsed));

    private double Smooth(double average, double sample) => average + (_smoothing * (sample - average));
}
