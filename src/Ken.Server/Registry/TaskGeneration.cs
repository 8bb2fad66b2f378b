namespace Ken.Server.Registry;

/// <summary>
/// A task version's generation: microseconds since the Unix epoch of its registry file's modification time,
/// which the registry stamps when it publishes a version (strictly after the version it replaces) and which a
/// rename keeps, so a restart, or another replica reading the same folder, sees the same generation.
/// </summary>
internal readonly record struct TaskGeneration(ulong Value)
{
    /// <summary>When this version was registered.</summary>
    public DateTimeOffset Time => DateTimeOffset.UnixEpoch.AddTicks((long)Value * TimeSpan.TicksPerMicrosecond);

    /// <summary>The generation of the file at <paramref name="path"/>.</summary>
    public static TaskGeneration Of(string path) => FromTime(File.GetLastWriteTimeUtc(path));

    /// <summary>
    /// Stamps <paramref name="path"/> (not yet visible) as the version after <paramref name="previous"/>: now,
    /// or a microsecond after the previous one when the clock has not moved past it; returns the generation as
    /// the file system stored it.
    /// </summary>
    public static TaskGeneration Stamp(string path, TaskGeneration? previous)
    {
        var now = FromTime(DateTime.UtcNow).Value;
        var value = previous is { } p && now <= p.Value ? p.Value + 1 : now;
        File.SetLastWriteTimeUtc(path, DateTime.UnixEpoch.AddTicks((long)value * TimeSpan.TicksPerMicrosecond));
        return Of(path);
    }

    /// <summary>The generation of a file last written at <paramref name="utc"/>.</summary>
    public static TaskGeneration FromTime(DateTime utc) =>
        new((ulong)Math.Max(0, (utc - DateTime.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond));
}
