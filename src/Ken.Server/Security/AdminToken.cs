using System.Security.Cryptography;
using System.Text;

using Ken.Format;
using Ken.Server.Hosting;
using Ken.Server.Telemetry;

namespace Ken.Server.Security;

/// <summary>The registry's bearer token: configured, or created once in the data directory (mode 0600).</summary>
public sealed class AdminToken
{
    private readonly byte[] _expected;

    private AdminToken(string token) => _expected = Encoding.UTF8.GetBytes(token);

    /// <summary>Uses <c>--admin-token</c>, else the token in <c>&lt;data-dir&gt;/admin.token</c>, creating it when missing.</summary>
    public static AdminToken Resolve(KenServerOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.AdminToken is { } configured)
        {
            logger.AdminTokenConfigured();
            return new AdminToken(configured);
        }

        var path = options.AdminTokenPath;
        try
        {
            Directory.CreateDirectory(options.DataDir);
            if (File.Exists(path))
            {
                var existing = File.ReadAllText(path).Trim();
                if (existing.Length >= 32)
                {
                    RestrictMode(path);
                    logger.AdminTokenFromFile(path);
                    return new AdminToken(existing);
                }
            }

            var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
            var temp = path + ".tmp-" + Guid.NewGuid().ToString("N")[..12];

            // Create with 0600 before writing the secret, so it is never readable by others, even briefly.
            var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var stream = new FileStream(temp, fileOptions))
            {
                stream.Write(Encoding.UTF8.GetBytes(token + "\n"));
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
            RestrictMode(path);
            logger.AdminTokenCreated(path);
            return new AdminToken(token);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new KenException($"cannot create the admin token file {path} ({ex.Message}); make --data-dir writable or pass --admin-token.", ex);
        }
    }

    /// <summary>Compares in constant time, so response timing does not reveal how much of a guess was right.</summary>
    public bool Matches(string candidate)
    {
        var bytes = Encoding.UTF8.GetBytes(candidate);
        return CryptographicOperations.FixedTimeEquals(bytes, _expected);
    }

    private static void RestrictMode(string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}
