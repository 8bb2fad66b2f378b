using Ken.Format.Checkpoints.Onnx;
using Ken.Format.Checkpoints.Safetensors;

namespace Ken.Format.Checkpoints;

/// <summary>
/// Opens whatever the user names as a model: a default model name (<c>minilm</c>, <c>arctic-xs</c>),
/// a <c>.safetensors</c> file, an <c>.onnx</c> file, or a model folder.
/// </summary>
public static class CheckpointLoader
{
    public static ICheckpoint Open(string spec)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spec);
        if (!File.Exists(spec) && !Directory.Exists(spec) && DefaultModels.TryResolve(spec, out var model))
        {
            return OnnxCheckpoint.Open(model.ModelPath);
        }

        if (Directory.Exists(spec))
        {
            string onnx = Path.Combine(spec, "model.onnx");
            bool hasSafetensors = File.Exists(Path.Combine(spec, "model.safetensors"))
                || File.Exists(Path.Combine(spec, "model.safetensors.index.json"));
            return !hasSafetensors && File.Exists(onnx) ? OnnxCheckpoint.Open(onnx) : HuggingFaceFolder.Open(spec);
        }

        if (!File.Exists(spec))
        {
            throw new KenException(
                $"{spec}: no such file or folder; pass a .safetensors file, an .onnx file, a model folder, or one of: {string.Join(", ", DefaultModels.Names)}.");
        }

        return Path.GetExtension(spec).ToUpperInvariant() switch
        {
            ".ONNX" => OnnxCheckpoint.Open(spec),
            ".SAFETENSORS" => SafetensorsFile.Open(spec),
            _ => throw new KenException(
                $"{spec}: unknown model format; pass a .safetensors file, an .onnx file, a model folder, or one of: {string.Join(", ", DefaultModels.Names)}."),
        };
    }
}
