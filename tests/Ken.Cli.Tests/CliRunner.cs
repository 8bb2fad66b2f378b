using Ken.Cli.Commands;

namespace Ken.Cli.Tests;

/// <summary>Runs the real <c>ken</c> command line in-process and captures its output and exit code.</summary>
internal static class CliRunner
{
    public static CliResult Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int code = CommandLineApp.Run(args, stdout, stderr);
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }
}

internal sealed record CliResult(int ExitCode, string Stdout, string Stderr);
