namespace Ken.Format.Checkpoints;

/// <summary>
/// A default backbone extracted to the local model cache: its ONNX model and WordPiece vocabulary.
/// </summary>
/// <param name="Name">Ken's short name (<c>minilm</c>, <c>arctic-xs</c>).</param>
/// <param name="HuggingFaceId">The model the files were exported from, for messages and docs.</param>
/// <param name="ModelPath">Absolute path of the extracted <c>model.onnx</c>.</param>
/// <param name="VocabPath">Absolute path of the extracted <c>vocab.txt</c>.</param>
public sealed record DefaultModel(string Name, string HuggingFaceId, string ModelPath, string VocabPath);
