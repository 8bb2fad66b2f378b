using System.CommandLine;
using Ken.Format;

namespace Ken.Cli.Commands;

/// <summary>
/// The <c>ken</c> command line: parses, runs one command, and maps failures to exit codes
/// (0 success, 2 usage error, 1 any other failure with a one-line message and no stack trace).
/// </summary>
public static class CommandLineApp
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int UsageError = 2;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("ken: serve many KEN-pruned fine-tuned tasks from one resident transformer backbone.")
        {
            PruneCommand.Create(stdout, stderr),
            InspectCommand.Create(stdout),
            ApplyCommand.Create(stdout, stderr),
            VizCommand.Create(stdout, stderr),
            TaskCommands.Register(stdout, stderr),
            TaskCommands.Unregister(stdout),
            TaskCommands.List(stdout),
            TaskCommands.Show(stdout),
            InferenceCommands.Classify(stdout),
            InferenceCommands.Embed(stdout),
            HealthCommand.Create(stdout),
            BenchCommand.Create(stdout, stderr),
            EvalCommand.Create(stdout, stderr),
            FinetuneCommand.Create(stdout, stderr),
        };

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
            {
                stderr.WriteLine($"ken: {error.Message}");
            }

            stderr.WriteLine("Run 'ken --help' or 'ken COMMAND --help' for usage.");
            return UsageError;
        }

        try
        {
            return parsed.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"ken: {e.Message}");
            return UsageError;
        }
        catch (KenException e)
        {
            stderr.WriteLine($"ken: error: {e.Message}");
            return Failure;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"ken: error: {e.Message} Check the path and its permissions.");
            return Failure;
        }
        catch (OperationCanceledException)
        {
            stderr.WriteLine("ken: cancelled; nothing was written.");
            return Failure;
        }
    }
}
