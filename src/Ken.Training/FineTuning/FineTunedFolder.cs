using System.Globalization;
using System.Text.Json;
using Ken.Format;
using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Safetensors;
using Ken.Format.IO;
using TorchSharp;

namespace Ken.Training.FineTuning;

/// <summary>
/// Writes a fine-tuned classifier as a Hugging Face style folder that <c>ken prune</c> and <c>ken eval</c> read
/// as any other: <c>model.safetensors</c> (float32; the encoder under <c>bert.</c> + its canonical names, the
/// pooler and <c>classifier.*</c> as <c>BertForSequenceClassification</c> names them), <c>config.json</c> (the
/// shape, <c>id2label</c>/<c>label2id</c>, <c>max_length</c>) and the base's <c>vocab.txt</c>. Each file is
/// written atomically.
/// </summary>
public static class FineTunedFolder
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static void Write(string folder, ClassifierModel model, IReadOnlyList<string> labels, int maxLength, string vocabPath)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(labels);
        Directory.CreateDirectory(folder);
        var tensors = new List<(string Name, float[] Values, long[] Shape)>();
        foreach (var (name, parameter) in model.Encoder.Named)
        {
            tensors.Add(("bert." + name, parameter.detach().data<float>().ToArray(), parameter.shape));
        }

        foreach (var (name, value) in model.HeadTensors())
        {
            tensors.Add((name, value.detach().data<float>().ToArray(), value.shape));
        }

        AtomicFile.Write(Path.Combine(folder, "model.safetensors"), stream =>
        {
            var writer = new SafetensorsWriter(stream, [.. tensors.Select(t => new SafetensorsDeclaration(t.Name, TensorDType.F32, t.Shape))]);
            foreach (var (name, values, _) in tensors)
            {
                writer.WriteEntry(name, values);
            }

            writer.Complete();
        });

        AtomicFile.WriteAllBytes(Path.Combine(folder, "config.json"), Config(model, labels, maxLength));
        AtomicFile.WriteAllBytes(Path.Combine(folder, "vocab.txt"), File.ReadAllBytes(vocabPath));
    }

    private static byte[] Config(ClassifierModel model, IReadOnlyList<string> labels, int maxLength)
    {
        var shape = model.Encoder.Shape;
        var named = model.Encoder.Named;
        var config = new Dictionary<string, object>
        {
            ["architectures"] = new[] { "BertForSequenceClassification" },
            ["model_type"] = "bert",
            ["hidden_act"] = "gelu",
            ["hidden_size"] = shape.Hidden,
            ["num_hidden_layers"] = shape.Layers,
            ["num_attention_heads"] = shape.Heads,
            ["intermediate_size"] = named["encoder.layer.0.intermediate.dense.weight"].shape[0],
            ["layer_norm_eps"] = shape.LayerNormEps,
            ["vocab_size"] = named["embeddings.word_embeddings.weight"].shape[0],
            ["max_position_embeddings"] = named["embeddings.position_embeddings.weight"].shape[0],
            ["type_vocab_size"] = named["embeddings.token_type_embeddings.weight"].shape[0],
            ["problem_type"] = "single_label_classification",
            ["max_length"] = maxLength,
            ["ken_pooling"] = model.Pooling,
            ["id2label"] = labels.Select((l, i) => (l, i)).ToDictionary(p => p.i.ToString(CultureInfo.InvariantCulture), p => p.l),
            ["label2id"] = labels.Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i),
            ["torch_dtype"] = "float32",
        };
        return JsonSerializer.SerializeToUtf8Bytes(config, Indented);
    }
}
