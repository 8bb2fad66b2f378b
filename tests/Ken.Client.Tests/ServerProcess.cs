using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Ken.Client.Tests;

/// <summary>
/// The built Ken server run as its own process (<c>dotnet Ken.Server.dll</c>) on a port the OS
/// picks. Its address comes from Kestrel's "Now listening on:" log line; stopping sends SIGTERM
/// and waits for the process to drain and exit.
/// </summary>
internal sealed partial class ServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(60);

    private readonly Process process;
    private readonly StringBuilder log = new();
    private readonly TaskCompletionSource<string> listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServerProcess(Process process) => this.process = process;

    /// <summary>The gRPC endpoint, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public string Address { get; private set; } = string.Empty;

    /// <summary>Everything the server wrote to stdout and stderr so far.</summary>
    public string Log
    {
        get
        {
            lock (log)
            {
                return log.ToString();
            }
        }
    }

    /// <summary>Starts the server with <paramref name="args"/> after <c>--urls http://127.0.0.1:0</c> and returns once it listens.</summary>
    /// <param name="environment">Variables to set for the server only (e.g. a fault point to arm).</param>
    public static async Task<ServerProcess> StartAsync(IEnumerable<string> args, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(KenBuild.DotnetHost)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,

            // The content root, so the server reads its appsettings.json (log format and levels).
            WorkingDirectory = Path.GetDirectoryName(KenBuild.ServerDll)!,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        foreach (string arg in (string[])[KenBuild.ServerDll, "--urls", "http://127.0.0.1:0", .. args])
        {
            start.ArgumentList.Add(arg);
        }

        var server = new ServerProcess(new Process { StartInfo = start, EnableRaisingEvents = true });
        server.process.OutputDataReceived += (_, e) => server.OnLine(e.Data);
        server.process.ErrorDataReceived += (_, e) => server.OnLine(e.Data);
        server.process.Exited += (_, _) => server.OnExited();
        server.process.Start();
        server.process.BeginOutputReadLine();
        server.process.BeginErrorReadLine();
        try
        {
            server.Address = await server.listening.Task.WaitAsync(StartTimeout, cancellationToken);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>
    /// Sends SIGTERM (a graceful stop: NOT_SERVING, drain, exit) and waits for the exit; kills the
    /// process if it has not exited within a minute. Returns the exit code, or null if it was killed.
    /// </summary>
    public async Task<int?> StopAsync()
    {
        if (process.HasExited)
        {
            return process.ExitCode;
        }

        if (OperatingSystem.IsWindows() || Terminate(process.Id, SigTerm) != 0)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return null;
        }

        using var timeout = new CancellationTokenSource(StopTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
            return process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return null;
        }
    }

    /// <summary>Waits until the process exits on its own (e.g. killed at a fault point) and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        await process.WaitForExitAsync(cancellationToken);
        return process.ExitCode;
    }

    /// <summary>Kills the process at once (SIGKILL, as <c>kill -9</c>): no drain, no clean-up.</summary>
    public async Task KillAsync()
    {
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (InvalidOperationException)
        {
            // Never started: nothing to stop.
        }

        process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            log.AppendLine(line);
        }

        if (ListeningLine().Match(line) is { Success: true } match)
        {
            listening.TrySetResult(match.Groups["url"].Value);
        }
    }

    private void OnExited()
    {
        // Drain the redirected output first, so the failure carries the server's last words.
        process.WaitForExit();
        listening.TrySetException(new InvalidOperationException($"the server exited with code {process.ExitCode} before listening:\n{Log}"));
    }

    private const int SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Terminate(int pid, int signal);

    [GeneratedRegex(@"Now listening on: (?<url>https?://\S+)")]
    private static partial Regex ListeningLine();
}
