using Ken.TestSupport;
namespace Ken.Cli.Tests;

/// <summary>
/// One real prune shared by the end-to-end tests: arctic-xs (fine-tuned) against minilm (base), both
/// from NuGet, at keep 0.5, then <c>ken apply</c> of that delta.
/// </summary>
public sealed class PruneEndToEndFixture : IDisposable
{
    private readonly TempDirectory dir = new();

    public PruneEndToEndFixture()
    {
        DeltaPath = dir.File("arctic.ken");
        AppliedPath = dir.File("arctic-applied.safetensors");
        Prune = CliRunner.Run("prune", "--base", "minilm", "--finetuned", "arctic-xs", "--keep", "0.5", "--pooling", "cls", "--normalize", "-o", DeltaPath);
        Apply = CliRunner.Run("apply", "--base", "minilm", "--delta", DeltaPath, "-o", AppliedPath);
    }

    public string DeltaPath { get; }

    public string AppliedPath { get; }

    internal CliResult Prune { get; }

    internal CliResult Apply { get; }

    public string NewPath(string name) => dir.File(name);

    public void Dispose() => dir.Dispose();
}
