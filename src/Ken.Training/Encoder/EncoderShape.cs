using System.Text.Json;
using Ken.Format;
using Ken.Format.Checkpoints;

namespace Ken.Training.Encoder;

/// <summary>
/// The size of a BERT-family encoder: layers, hidden width and attention heads. Layers and width come from
/// the checkpoint's tensors; heads from its <c>config.json</c> (<c>num_attention_heads</c>), else from
/// <paramref name="Heads"/> as given (the default models minilm and arctic-xs have 12).
/// </summary>
public sealed record EncoderShape(int Layers, int Hidden, int Heads, float LayerNormEps = 1e-12f)
{
    /// <summary>Heads of the MiniLM-L6-H384 family that Ken's default models are.</summary>
    public const int DefaultHeads = 12;

    public int HeadSize => Hidden / Heads;

    /// <summary>Reads the shape of <paramref name="checkpoint"/>; <paramref name="heads"/> when its config does not say.</summary>
    public static EncoderShape Of(ICheckpoint checkpoint, int? heads = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (!checkpoint.TryGetInfo("embeddings.word_embeddings.weight", out var words) || words.Shape.Count != 2)
        {
            throw new KenException($"{checkpoint.Source} has no embeddings.word_embeddings.weight [vocab, hidden]: not a BERT-family encoder Ken can train.");
        }

        var layers = 0;
        while (checkpoint.TryGetInfo($"encoder.layer.{layers}.attention.self.query.weight", out _))
        {
            layers++;
        }

        if (layers == 0)
        {
            throw new KenException($"{checkpoint.Source} has no encoder.layer.0.attention.self.query.weight: not a BERT-family encoder Ken can train.");
        }

        var hidden = checked((int)words.Shape[1]);
        var configHeads = ConfigHeads(checkpoint.ConfigJson);
        var resolved = configHeads ?? heads ?? DefaultHeads;
        if (resolved < 1 || hidden % resolved != 0)
        {
            throw new KenException($"{checkpoint.Source}: {resolved} attention heads do not divide the hidden width {hidden}.");
        }

        return new EncoderShape(layers, hidden, resolved);
    }

    private static int? ConfigHeads(string? configJson)
    {
        if (configJson is null)
        {
            return null;
        }

        using var config = JsonDocument.Parse(configJson);
        return config.RootElement.TryGetProperty("num_attention_heads", out var heads) && heads.TryGetInt32(out var value) ? value : null;
    }
}
