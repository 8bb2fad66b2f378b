namespace Ken.Server.Registry;

/// <summary>
/// Which version of a task file a path names: its length and its modification and creation times. Every
/// publish renames a new file over the name, so a changed stamp means another version; a rename keeps a
/// file's stamp, so the stamp taken from an upload's temp file is the stamp of the task it publishes.
/// </summary>
internal readonly record struct StoreStamp(long Length, long LastWriteTicks, long CreationTicks)
{
    /// <summary>The stamp of the file at <paramref name="path"/>, or null when there is none.</summary>
    public static StoreStamp? Of(string path)
    {
        var info = new FileInfo(path);
        try
        {
            return info.Exists ? new StoreStamp(info.Length, info.LastWriteTimeUtc.Ticks, info.CreationTimeUtc.Ticks) : null;
        }
        catch (FileNotFoundException)
        {
            // Removed between the check and the read.
            return null;
        }
    }
}
