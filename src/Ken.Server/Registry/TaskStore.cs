using Ken.Format.IO;

namespace Ken.Server.Registry;

/// <summary>
/// The registry folder: <c>&lt;name&gt;.ken</c> per task, its <see cref="PinMarker"/>, and hidden temp
/// files that become visible only by an atomic rename.
/// </summary>
internal sealed class TaskStore
{
    public const string Extension = ".ken";

    public TaskStore(string folder) => Folder = folder;

    public string Folder { get; }

    public string PathFor(string name) => Path.Combine(Folder, name + Extension);

    /// <summary>A fresh hidden temp path for an upload of <paramref name="name"/>, in the folder so the final rename is atomic.</summary>
    public string NewTempPath(string name)
    {
        Directory.CreateDirectory(Folder);
        return Path.Combine(Folder, "." + name + Extension + AtomicFile.TempMarker + Guid.NewGuid().ToString("N")[..12]);
    }

    /// <summary>
    /// Deletes temp files that a crash left behind; they were never visible. With <paramref name="olderThan"/>
    /// (a folder other replicas write to) only those not written to for that long, so uploads in progress stay.
    /// </summary>
    public void RemoveLeftovers(TimeSpan? olderThan = null)
    {
        Directory.CreateDirectory(Folder);
        foreach (var leftover in Directory.EnumerateFiles(Folder, "*" + AtomicFile.TempMarker + "*"))
        {
            if (olderThan is not { } age || DateTime.UtcNow - File.GetLastWriteTimeUtc(leftover) > age)
            {
                TryDelete(leftover);
            }
        }
    }

    /// <summary>The task files with valid names that the folder holds now, by name, with their stamps and pins.</summary>
    public Dictionary<string, StoreFile> Scan()
    {
        var files = new Dictionary<string, StoreFile>(StringComparer.Ordinal);
        if (!Directory.Exists(Folder))
        {
            return files;
        }

        foreach (var path in Directory.EnumerateFiles(Folder, "*" + Extension))
        {
            var name = Path.GetFileNameWithoutExtension(path);
            if (TaskName.IsValid(name) && StoreStamp.Of(path) is { } stamp)
            {
                files[name] = new StoreFile(name, path, stamp, PinMarker.IsSet(path));
            }
        }

        return files;
    }

    /// <summary>The task files, in ordinal order of their names.</summary>
    public string[] TaskFiles()
    {
        Directory.CreateDirectory(Folder);
        var files = Directory.GetFiles(Folder, "*" + Extension);
        Array.Sort(files, StringComparer.Ordinal);
        return files;
    }

    /// <summary>
    /// Renames the fully written and flushed <paramref name="tempPath"/> over <paramref name="name"/>'s
    /// file and sets or clears its pin; returns the task's path.
    /// </summary>
    public string Publish(string tempPath, string name, bool pin)
    {
        var path = PathFor(name);
        File.Move(tempPath, path, overwrite: true);
        Ken.Format.Faults.FaultPoints.Hit(Ken.Format.Faults.FaultPoints.RegistryAfterRename);
        PinMarker.Set(path, pin);
        return path;
    }

    /// <summary>
    /// As <see cref="Publish"/>, but only if no file of that name exists: the first of two concurrent
    /// publishes wins (a hard link, which fails atomically when the name exists, also across replicas on
    /// a network filesystem); the other gets <see cref="TaskExistsException"/>.
    /// </summary>
    public string PublishNew(string tempPath, string name, bool pin, Func<string, TaskExistsException> exists)
    {
        ArgumentNullException.ThrowIfNull(exists);
        var path = PathFor(name);
        try
        {
            File.Move(tempPath, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path) && File.Exists(tempPath))
        {
            throw exists(name);
        }

        Ken.Format.Faults.FaultPoints.Hit(Ken.Format.Faults.FaultPoints.RegistryAfterRename);
        PinMarker.Set(path, pin);
        return path;
    }

    /// <summary>Deletes a task's file and its pin, as far as possible.</summary>
    public static void Delete(string taskPath)
    {
        TryDelete(taskPath);
        PinMarker.Remove(taskPath);
    }

    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: a leftover is recognizable by its name and cleaned at the next start.
        }
        catch (UnauthorizedAccessException)
        {
            // As above.
        }
    }
}
