using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Ken.Deploy.Tests.Routing;

/// <summary>
/// HAProxy run in master-worker mode in the foreground (<c>haproxy -W -db</c>) on a rendered
/// configuration. Start returns on its "Loading success." line; server state changes ("Server
/// ken_inference/r2 is DOWN") are events a test can wait for.
/// </summary>
internal sealed partial class HaproxyProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly Process process;
    private readonly StringBuilder log = new();
    private readonly TaskCompletionSource loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<(Regex Pattern, TaskCompletionSource Seen)> waiters = [];

    private HaproxyProcess(Process process) => this.process = process;

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

    public static async Task<HaproxyProcess> StartAsync(string haproxy, string configPath, int grpcPort, int statsPort, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(haproxy)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])["-W", "-db", "-f", configPath])
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["KEN_PROXY_BIND"] = $"127.0.0.1:{grpcPort}";
        start.Environment["KEN_PROXY_STATS_BIND"] = $"127.0.0.1:{statsPort}";
        var proxy = new HaproxyProcess(new Process { StartInfo = start, EnableRaisingEvents = true });
        proxy.process.OutputDataReceived += (_, e) => proxy.OnLine(e.Data);
        proxy.process.ErrorDataReceived += (_, e) => proxy.OnLine(e.Data);
        proxy.process.Exited += (_, _) => proxy.loaded.TrySetException(new InvalidOperationException($"haproxy exited before loading:\n{proxy.Log}"));
        proxy.process.Start();
        proxy.process.BeginOutputReadLine();
        proxy.process.BeginErrorReadLine();
        try
        {
            await proxy.loaded.Task.WaitAsync(StartTimeout, cancellationToken);
        }
        catch
        {
            await proxy.DisposeAsync();
            throw;
        }

        return proxy;
    }

    /// <summary>A task that completes when HAProxy logs that <paramref name="server"/> of <paramref name="backend"/> went <paramref name="state"/> (UP or DOWN). Call it before causing the change.</summary>
    public Task ServerStateAsync(string backend, string server, string state)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (log)
        {
            waiters.Add((new Regex($@"Server {Regex.Escape(backend)}/{Regex.Escape(server)} is {state}\b", RegexOptions.CultureInvariant), seen));
        }

        return seen.Task;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!process.HasExited)
            {
                // SIGTERM to the master stops the worker too; SIGKILL would orphan it.
                if (Signal(process.Id, 15) != 0)
                {
                    process.Kill(entireProcessTree: true);
                }

                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await process.WaitForExitAsync(timeout.Token);
            }
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }
        finally
        {
            process.Dispose();
        }
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
            foreach (var (pattern, seen) in waiters)
            {
                if (pattern.IsMatch(line))
                {
                    seen.TrySetResult();
                }
            }
        }

        if (line.Contains("Loading success.", StringComparison.Ordinal))
        {
            loaded.TrySetResult();
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Signal(int pid, int signal);
}
