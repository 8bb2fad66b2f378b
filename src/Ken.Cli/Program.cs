using System.CommandLine;
using Ken.Cli.Commands;

namespace Ken.Cli;

internal static class Program
{
    public static int Main(string[] args) => CommandLineApp.Run(args, Console.Out, Console.Error);
}
