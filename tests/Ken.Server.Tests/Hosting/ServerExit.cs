using System.Diagnostics;
using System.Reflection;

namespace Ken.Server.Tests.Hosting;

/// <summary>
/// The built server (<c>dotnet Ken.Server.dll</c> from its own output folder) run as a process that is
/// expected to stop at start-up: its exit code and what it wrote to stdout and stderr.
/// </summary>
internal static class ServerExit
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);

    public static string ServerDll
    {
        get
        {
            var path = typeof(ServerExit).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(a => a.Key == "KenServerDll")?.Value;
            if (string.IsNullOrEmpty(path) || !File.Exists(path))
            {
                throw new InvalidOperationException($"KenServerDll (\"{path}\") does not exist; build tests/Ken.Server.Tests, which builds the server first.");
            }

            return path;
        }
    }

    /// <summary>Runs the server with <paramref name="args"/>; <paramref name="libraryPath"/> replaces LD_LIBRARY_PATH (empty: unset).</summary>
    public static (int ExitCode, string Stdout, string Stderr) Run(IEnumerable<string> args, string libraryPath, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(ServerDll)!,
        };
        foreach (var arg in (string[])[ServerDll, "--urls", "http://127.0.0.1:0", "--metrics-urls", "none", .. args])
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Remove("LD_LIBRARY_PATH");
        if (libraryPath.Length > 0)
        {
            start.Environment["LD_LIBRARY_PATH"] = libraryPath;
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the server");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Limit))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"the server was still running after {Limit.TotalSeconds} s; it should have stopped at start-up.\n{stdout.Result}\n{stderr.Result}");
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
