using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

using Ken.Format;

namespace Ken.Server.Security;

/// <summary>
/// The per-tenant inference tokens of <c>--tenant-tokens</c>: a JSON file
/// <c>{"tokens":[{"name":"spam-team","token":"…","tasks":["spam-*","sotu"]}]}</c>, read once at start.
/// A token is at least 16 characters; <c>name</c> is optional (it names the tenant in messages); each
/// pattern is a task name where <c>*</c> matches any run of characters.
/// </summary>
public sealed class TenantTokens
{
    public const int MinTokenLength = 16;

    private readonly (byte[] Hash, TenantGrant Grant)[] _entries;

    private TenantTokens((byte[] Hash, TenantGrant Grant)[] entries) => _entries = entries;

    public int Count => _entries.Length;

    /// <summary>Reads <paramref name="path"/>; throws <see cref="KenException"/> saying what in the file is wrong.</summary>
    public static TenantTokens Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new KenException($"--tenant-tokens {path}: cannot read it ({ex.Message}); pass a readable JSON file.", ex);
        }

        try
        {
            return Parse(text);
        }
        catch (KenException ex)
        {
            throw new KenException($"--tenant-tokens {path}: {ex.Message}", ex);
        }
    }

    /// <summary>Parses the file's text (see the class summary for the format).</summary>
    public static TenantTokens Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        const string Format = "write {\"tokens\":[{\"name\":\"team\",\"token\":\"<16+ characters>\",\"tasks\":[\"spam-*\"]}]}";
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new KenException($"not valid JSON ({ex.Message}); {Format}.", ex);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("tokens", out var tokens) || tokens.ValueKind != JsonValueKind.Array)
            {
                throw new KenException($"no \"tokens\" array; {Format}.");
            }

            var entries = new List<(byte[], TenantGrant)>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var index = 0;
            foreach (var item in tokens.EnumerateArray())
            {
                var where = $"tokens[{index++}]";
                if (item.ValueKind != JsonValueKind.Object)
                {
                    throw new KenException($"{where} is not an object; {Format}.");
                }

                foreach (var property in item.EnumerateObject())
                {
                    if (property.Name is not ("name" or "token" or "tasks"))
                    {
                        throw new KenException($"{where} has an unknown field \"{property.Name}\"; the fields are name, token and tasks.");
                    }
                }

                var token = item.TryGetProperty("token", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : null;
                if (token is null || token.Length < MinTokenLength)
                {
                    throw new KenException($"{where} needs a \"token\" of at least {MinTokenLength} characters (e.g. from `openssl rand -hex 32`).");
                }

                if (!seen.Add(token))
                {
                    throw new KenException($"{where} repeats a token given earlier; give each tenant its own.");
                }

                var name = item.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : where;
                if (!item.TryGetProperty("tasks", out var tasks) || tasks.ValueKind != JsonValueKind.Array || tasks.GetArrayLength() == 0)
                {
                    throw new KenException($"{where} needs a non-empty \"tasks\" array of task name patterns (e.g. [\"spam-*\"]).");
                }

                var patterns = new List<TaskPattern>();
                foreach (var pattern in tasks.EnumerateArray())
                {
                    if (pattern.ValueKind != JsonValueKind.String)
                    {
                        throw new KenException($"{where}.tasks holds a {pattern.ValueKind}; list task name patterns as strings.");
                    }

                    patterns.Add(TaskPattern.Parse(pattern.GetString()!));
                }

                entries.Add((Hash(token), new TenantGrant(name, patterns)));
            }

            if (entries.Count == 0)
            {
                throw new KenException($"the \"tokens\" array is empty, so no one could call inference; {Format}.");
            }

            return new TenantTokens([.. entries]);
        }
    }

    /// <summary>
    /// The grant of <paramref name="candidate"/>, or null for an unknown token. Compares the SHA-256 of the
    /// candidate with every token's in constant time and without stopping early, so timing reveals neither
    /// how much of a guess was right nor which entry matched.
    /// </summary>
    public TenantGrant? Find(string candidate)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        var hash = Hash(candidate);
        TenantGrant? found = null;
        foreach (var (expected, grant) in _entries)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, expected))
            {
                found = grant;
            }
        }

        return found;
    }

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
