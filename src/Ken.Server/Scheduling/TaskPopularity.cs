using System.Runtime.CompilerServices;

namespace Ken.Server.Scheduling;

/// <summary>
/// Each task's <see cref="DecayedCount"/> of admitted requests, which the pick policy evicts by. Weak
/// keys: a task the registry and every queue forgot needs no count. Guarded by the caller (the queues' gate).
/// </summary>
internal sealed class TaskPopularity<TTask>
    where TTask : class
{
    private readonly ConditionalWeakTable<TTask, StrongBox<DecayedCount>> _counts = [];
    private readonly long _halfLife;

    /// <param name="halfLife">How long a request keeps half its weight, in the units of the timestamps given.</param>
    public TaskPopularity(long halfLife)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(halfLife, 1);
        _halfLife = halfLife;
    }

    /// <summary>Counts one request of <paramref name="task"/> at <paramref name="now"/>.</summary>
    public void Count(TTask task, long now)
    {
        var box = _counts.GetValue(task, static _ => new StrongBox<DecayedCount>());
        box.Value = box.Value.Add(now, _halfLife);
    }

    /// <summary>The decayed count of <paramref name="task"/> at <paramref name="now"/>; 0 for none (the base) or a task never seen.</summary>
    public double Of(TTask? task, long now) =>
        task is not null && _counts.TryGetValue(task, out var box) ? box.Value.ValueAt(now, _halfLife) : 0;
}
