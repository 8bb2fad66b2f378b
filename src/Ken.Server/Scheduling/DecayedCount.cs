namespace Ken.Server.Scheduling;

/// <summary>
/// A request count that halves every half-life: frequency with aging, so a task that was popular an hour
/// ago does not outrank one that is popular now, and one burst does not outrank steady demand. Pure: the
/// caller passes the time and the half-life (in the same units).
/// </summary>
internal readonly record struct DecayedCount(double Value, long At)
{
    /// <summary>The count as of <paramref name="now"/> (never earlier than the last update).</summary>
    public double ValueAt(long now, long halfLife)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(halfLife, 1);
        var elapsed = now - At;
        return elapsed <= 0 ? Value : Value * Math.Pow(0.5, (double)elapsed / halfLife);
    }

    /// <summary>This count decayed to <paramref name="now"/>, plus <paramref name="requests"/>.</summary>
    public DecayedCount Add(long now, long halfLife, double requests = 1) =>
        new(ValueAt(now, halfLife) + requests, Math.Max(now, At));
}
