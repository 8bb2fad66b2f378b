namespace Ken.Format.IO;

/// <summary>
/// Writes files so that readers see either the old content or the complete new content, never a
/// partial file: write a temp file in the destination folder, fsync it, rename it over the
/// destination. Any failure deletes the temp file.
/// </summary>
public static class AtomicFile
{
    /// <summary>
    /// Marks temp files (<c>.name.tmp-XXXX</c>, hidden, next to the destination), so that leftovers
    /// after a crash are recognizable and ignored by git (<c>*.ken.tmp*</c>).
    /// </summary>
    public const string TempMarker = ".tmp-";

    /// <summary>
    /// Creates or replaces <paramref name="path"/> with what <paramref name="write"/> writes to the
    /// stream it is given.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        string fullPath = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(fullPath) ?? throw new KenException($"{path} is not a file path; choose a file name for the output.");
        if (!Directory.Exists(folder))
        {
            throw new KenException($"Folder {folder} does not exist; create it or choose another output path.");
        }

        if (Directory.Exists(fullPath))
        {
            throw new KenException($"{fullPath} is a folder; choose a file name for the output.");
        }

        // Same folder, so the final rename stays on one file system and is atomic.
        string temp = Path.Combine(folder, "." + Path.GetFileName(fullPath) + TempMarker + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                write(stream);

                // Data must be on disk before the rename makes it visible, or a crash could leave the
                // new name pointing at an empty or partial file.
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, fullPath, overwrite: true);
        }
        catch (UnauthorizedAccessException ex)
        {
            TryDelete(temp);
            throw new KenException($"Cannot write {fullPath} ({ex.Message}); check the folder's permissions or choose another output path.", ex);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Creates or replaces <paramref name="path"/> with <paramref name="bytes"/>.</summary>
    public static void WriteAllBytes(string path, ReadOnlyMemory<byte> bytes) =>
        Write(path, stream => stream.Write(bytes.Span));

    private static void TryDelete(string temp)
    {
        try
        {
            File.Delete(temp);
        }
        catch (IOException)
        {
            // The original failure matters more than a leftover temp file; its name marks it.
        }
        catch (UnauthorizedAccessException)
        {
            // As above.
        }
    }
}
