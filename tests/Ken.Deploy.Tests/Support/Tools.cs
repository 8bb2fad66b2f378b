using System.Reflection;

namespace Ken.Deploy.Tests.Support;

/// <summary>The repository's deploy/ folder and the external programs the tests drive (found on PATH).</summary>
internal static class Tools
{
    /// <summary>The repository root (written into this assembly by the project's KenProcessPaths target).</summary>
    public static string RepoRoot { get; } =
        typeof(Tools).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!;

    public static string Deploy(params string[] parts) => Path.Combine([RepoRoot, "deploy", .. parts]);

    /// <summary>The full path of <paramref name="program"/> on PATH, or null.</summary>
    public static string? Find(string program)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>The path of <paramref name="program"/>; skips the calling test, naming the Debian package, when it is not installed.</summary>
    public static string Require(string program, string package) =>
        Find(program) ?? throw SkipException(program, package);

    public static string SkipReason(string program, string package) =>
        $"{program} is not installed (apt-get install -y {package}); .ci/run installs it";

    private static InvalidOperationException SkipException(string program, string package)
    {
        Assert.Skip(SkipReason(program, package));
        return new InvalidOperationException("unreachable");
    }
}
