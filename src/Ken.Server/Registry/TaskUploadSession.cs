using System.Security.Cryptography;

using Ken.Format;
using Ken.Format.Faults;

namespace Ken.Server.Registry;

/// <summary>
/// One RegisterTask upload: checks what its header declares, receives the chunks into a hidden temp
/// file while hashing them, and checks the size and SHA-256 it declared. Disposing deletes the temp
/// file unless it was renamed into place meanwhile.
/// </summary>
internal sealed class TaskUploadSession : IDisposable
{
    private readonly TaskUpload _upload;
    private readonly byte[] _expectedHash;

    /// <summary>Throws <see cref="KenException"/> (INVALID_ARGUMENT) for a header that cannot describe an acceptable file.</summary>
    public TaskUploadSession(TaskUpload upload, long maxTaskBytes, long? largestDelta, string tempPath)
    {
        ArgumentNullException.ThrowIfNull(upload);
        if (upload.SizeBytes <= 0)
        {
            throw new KenException($"the upload header gives size_bytes {upload.SizeBytes}; set it to the .ken file's exact size in bytes.");
        }

        if (upload.SizeBytes > maxTaskBytes)
        {
            throw new KenException($"the .ken file is {upload.SizeBytes} bytes, over this server's limit of {maxTaskBytes} (--max-task-size); prune with a smaller budget or raise the limit.");
        }

        if (upload.SizeBytes > largestDelta)
        {
            throw new KenException($"the upload header claims {upload.SizeBytes} bytes, more than any delta of this server's backbone can hold ({largestDelta} bytes: every weight patched, plus heads); the file is not a delta for this model. Check size_bytes and that it was pruned against this backbone.");
        }

        _upload = upload;
        _expectedHash = ParseSha256(upload.Sha256);
        TempPath = tempPath;
    }

    /// <summary>Where the upload is received; the registry renames it into place once it is validated.</summary>
    public string TempPath { get; }

    /// <summary>
    /// Writes every chunk to <see cref="TempPath"/>, flushes it to disk and checks its size and SHA-256
    /// against the header; returns the number of bytes received.
    /// </summary>
    public async Task<long> ReceiveAsync(IAsyncEnumerable<ReadOnlyMemory<byte>> chunks, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        long received = 0;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using (var file = new FileStream(TempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
        {
            await foreach (var chunk in chunks.WithCancellation(cancellationToken))
            {
                received += chunk.Length;
                if (received > _upload.SizeBytes)
                {
                    throw new KenException($"the upload sent more than the {_upload.SizeBytes} bytes its header declared; set size_bytes to the file's exact size.");
                }

                hash.AppendData(chunk.Span);
                await file.WriteAsync(chunk, cancellationToken);
            }

            // On disk before the rename makes it visible, so a crash never leaves a partial task.
            await file.FlushAsync(cancellationToken);
            FaultPoints.Hit(FaultPoints.RegistryBeforeFsync);
            file.Flush(flushToDisk: true);
        }

        FaultPoints.Hit(FaultPoints.RegistryAfterFsync);

        if (received != _upload.SizeBytes)
        {
            throw new KenException($"the upload ended after {received} bytes, but its header declared {_upload.SizeBytes}; send the whole file (did the client stop early?).");
        }

        var actualHash = hash.GetHashAndReset();
        if (!CryptographicOperations.FixedTimeEquals(actualHash, _expectedHash))
        {
            throw new KenException($"the upload's SHA-256 is {Convert.ToHexStringLower(actualHash)}, but its header declared {_upload.Sha256}; the file was corrupted in transit or the checksum is of another file; upload again.");
        }

        return received;
    }

    public void Dispose() => TaskStore.TryDelete(TempPath);

    private static byte[] ParseSha256(string text)
    {
        if (text is not { Length: 64 })
        {
            throw new KenException($"the upload header's sha256 is \"{text}\"; send the file's SHA-256 as 64 hex characters (e.g. from `sha256sum`).");
        }

        try
        {
            return Convert.FromHexString(text);
        }
        catch (FormatException)
        {
            throw new KenException($"the upload header's sha256 is \"{text}\"; send the file's SHA-256 as 64 hex characters (e.g. from `sha256sum`).");
        }
    }
}
