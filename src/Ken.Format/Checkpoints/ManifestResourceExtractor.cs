using System.Buffers.Binary;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace Ken.Format.Checkpoints;

/// <summary>
/// Copies an embedded manifest resource out of a .NET assembly file without loading the assembly:
/// the model packages target another framework and carry code Ken must not run.
/// </summary>
internal static class ManifestResourceExtractor
{
    /// <summary>
    /// Writes the resource to <paramref name="destination"/> unless a file of the right length is
    /// already there. The file only ever appears complete: it is written under a unique temporary
    /// name, flushed to disk and renamed, so concurrent extractors (threads or processes) never see
    /// a partial file and the last rename simply replaces identical bytes.
    /// </summary>
    public static void ExtractTo(string assemblyPath, string resourceName, string destination)
    {
        using var assembly = new FileStream(assemblyPath, FileMode.Open, FileAccess.Read, FileShare.Read);
        var (offset, length) = Locate(assembly, assemblyPath, resourceName);

        var existing = new FileInfo(destination);
        if (existing.Exists && existing.Length == length)
        {
            return;
        }

        var temporary = destination + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            using (var output = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                assembly.Position = offset;
                CopyExactly(assembly, output, length, assemblyPath);
                output.Flush(flushToDisk: true);
            }

            try
            {
                File.Move(temporary, destination, overwrite: true);
            }
            catch (IOException) when (new FileInfo(destination) is { Exists: true } placed && placed.Length == length)
            {
                // Windows refuses to replace a file another process has open; that process already
                // put the same bytes there.
            }
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }

    /// <summary>Returns the file offset and length of the named resource's bytes.</summary>
    internal static (long Offset, long Length) Locate(FileStream assembly, string assemblyPath, string resourceName)
    {
        long resourceOffset;
        try
        {
            // LeaveOpen: the same stream is then used to copy the bytes.
            using var pe = new PEReader(assembly, PEStreamOptions.LeaveOpen);
            if (!pe.HasMetadata)
            {
                throw Invalid(assemblyPath, "it has no .NET metadata");
            }

            var metadata = pe.GetMetadataReader();
            long? found = null;
            foreach (var handle in metadata.ManifestResources)
            {
                var resource = metadata.GetManifestResource(handle);
                if (resource.Implementation.IsNil && metadata.StringComparer.Equals(resource.Name, resourceName))
                {
                    found = resource.Offset;
                    break;
                }
            }

            if (found is null)
            {
                throw Invalid(assemblyPath, $"it has no embedded resource '{resourceName}'");
            }

            var directory = pe.PEHeaders.CorHeader!.ResourcesDirectory;
            if (!pe.PEHeaders.TryGetDirectoryOffset(directory, out var directoryOffset))
            {
                throw Invalid(assemblyPath, "its resources directory is not in any section");
            }

            resourceOffset = directoryOffset + found.Value;
        }
        catch (BadImageFormatException e)
        {
            throw Invalid(assemblyPath, e.Message);
        }

        // Each embedded resource is a 4-byte little-endian length followed by the bytes.
        Span<byte> prefix = stackalloc byte[4];
        assembly.Position = resourceOffset;
        assembly.ReadExactly(prefix);
        long length = BinaryPrimitives.ReadUInt32LittleEndian(prefix);
        var start = resourceOffset + 4;
        if (start + length > assembly.Length)
        {
            throw Invalid(assemblyPath, $"resource '{resourceName}' runs past the end of the file");
        }

        return (start, length);
    }

    private static void CopyExactly(Stream source, Stream destination, long length, string assemblyPath)
    {
        var buffer = new byte[1 << 20];
        while (length > 0)
        {
            var read = source.Read(buffer, 0, (int)Math.Min(buffer.Length, length));
            if (read == 0)
            {
                throw Invalid(assemblyPath, "it ended in the middle of a resource");
            }

            destination.Write(buffer, 0, read);
            length -= read;
        }
    }

    private static KenException Invalid(string assemblyPath, string why) =>
        new($"{assemblyPath} is not a usable model package assembly ({why}); " +
            "delete it and run 'dotnet restore' to download the package again.");
}
