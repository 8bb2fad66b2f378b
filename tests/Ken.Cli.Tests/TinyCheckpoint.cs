using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Safetensors;

namespace Ken.Cli.Tests;

/// <summary>Small hand-made BERT-like checkpoints written as real safetensors files.</summary>
internal static class TinyCheckpoint
{
    public static Dictionary<string, TinyTensor> Random(int seed)
    {
        var rng = new Random(seed);
        var tensors = new Dictionary<string, TinyTensor>(StringComparer.Ordinal)
        {
            ["embeddings.word_embeddings.weight"] = new([10, 4], new float[40]),
            ["encoder.layer.0.dense.weight"] = new([5, 4], new float[20]),
            ["encoder.layer.0.dense.bias"] = new([5], new float[5]),
        };
        foreach (var t in tensors.Values)
        {
            for (int i = 0; i < t.Data.Length; i++)
            {
                t.Data[i] = (float)((rng.NextDouble() - 0.5) * 0.2);
            }
        }

        return tensors;
    }

    public static Dictionary<string, TinyTensor> Perturb(Dictionary<string, TinyTensor> source, int seed)
    {
        var rng = new Random(seed);
        var result = new Dictionary<string, TinyTensor>(StringComparer.Ordinal);
        foreach (var (name, t) in source)
        {
            var data = (float[])t.Data.Clone();
            for (int i = 0; i < data.Length; i++)
            {
                data[i] += (float)((rng.NextDouble() - 0.5) * 0.01);
            }

            result[name] = new TinyTensor((long[])t.Shape.Clone(), data);
        }

        return result;
    }

    public static void Write(string path, Dictionary<string, TinyTensor> tensors)
    {
        var declarations = new List<SafetensorsDeclaration>();
        foreach (var (name, t) in tensors)
        {
            declarations.Add(new SafetensorsDeclaration(name, TensorDType.F32, t.Shape));
        }

        using var stream = File.Create(path);
        var writer = new SafetensorsWriter(stream, declarations);
        foreach (var (name, t) in tensors)
        {
            writer.WriteEntry(name, (ReadOnlySpan<float>)t.Data);
        }

        writer.Complete();
    }
}
