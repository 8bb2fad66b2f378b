using System.CommandLine;
using Ken.Client.Commands;

namespace Ken.Client;

internal static class Program
{
    public static int Main(string[] args) => CommandLineApp.Run(args, Console.Out, Console.Error);
}
