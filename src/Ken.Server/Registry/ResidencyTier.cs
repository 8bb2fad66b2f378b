namespace Ken.Server.Registry;

/// <summary>Where a task lives now, cheapest to serve last.</summary>
public enum ResidencyTier
{
    /// <summary>Only its .ken file; the next request reads and binds it.</summary>
    Disk,

    /// <summary>Bound in host memory, ready to swap into a slot.</summary>
    Host,

    /// <summary>Bound in host memory and its delta resident in device memory (a GPU backend), one launch from a slot.</summary>
    Device,

    /// <summary>Materialized in a weight slot.</summary>
    Slot,
}
