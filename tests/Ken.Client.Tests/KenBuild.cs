using System.Reflection;

namespace Ken.Client.Tests;

/// <summary>Where the build put the server and the <c>ken</c> tool (written by the project's KenProcessPaths target).</summary>
internal static class KenBuild
{
    public static string ServerDll => Metadata("KenServerDll");

    public static string CliDll => Metadata("KenCliDll");

    /// <summary>The <c>dotnet</c> host that runs this test process, so the children use the same runtime.</summary>
    public static string DotnetHost => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    private static string Metadata(string key)
    {
        string? path = typeof(KenBuild).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(a => a.Key == key)?.Value;
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            throw new InvalidOperationException($"{key} (\"{path}\") does not exist; build tests/Ken.Client.Tests, which builds the server and the ken tool first.");
        }

        return path;
    }
}
