using Ken.Format;

namespace Ken.Cli.Commands;

internal static class OutputPaths
{
    /// <summary>Fails before any work when the output's folder is missing, so a long run is not wasted.</summary>
    public static void EnsureFolderExists(string outputPath)
    {
        string? folder = Path.GetDirectoryName(Path.GetFullPath(outputPath));
        if (folder is not null && !Directory.Exists(folder))
        {
            throw new KenException($"output folder {folder} does not exist; create it or choose another output path.");
        }
    }
}
