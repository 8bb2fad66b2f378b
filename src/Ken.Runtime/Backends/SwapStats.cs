namespace Ken.Runtime.Backends;

/// <summary>What one swap did: how long restore and apply took and how many values they wrote.</summary>
public readonly record struct SwapStats(TimeSpan Restore, TimeSpan Apply, long ValuesRestored, long ValuesApplied)
{
    public TimeSpan Total => Restore + Apply;
}
