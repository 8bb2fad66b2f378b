using Ken.Format.Checkpoints;

namespace Ken.Cli.Commands;

/// <summary>The <c>vocab.txt</c> of a base model spec: a default model's, else the one beside the file or in the folder.</summary>
internal static class BaseVocab
{
    public static string Of(string baseSpec)
    {
        if (DefaultModels.TryResolve(baseSpec, out var model))
        {
            return model.VocabPath;
        }

        var folder = Directory.Exists(baseSpec) ? baseSpec : Path.GetDirectoryName(Path.GetFullPath(baseSpec))!;
        var vocab = Path.Combine(folder, "vocab.txt");
        return File.Exists(vocab) ? vocab : throw new UsageException($"no vocab.txt beside {baseSpec}; pass --vocab.");
    }
}
