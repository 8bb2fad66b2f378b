using Ken.Format.Checkpoints;
using Ken.Format.Deltas;

namespace Ken.Viz.Tests;

/// <summary>Small hand-made deltas: masks drawn as strings, '#' = kept, '.' = reset.</summary>
internal static class VizDeltas
{
    public static KenDeltaMetadata Metadata => new()
    {
        Task = "viz-test",
        Kind = TaskKind.Embedding,
        Pooling = PoolingMode.Mean,
        Keep = 0.5,
        Method = "ken",
        CreatedBy = "ken tests",
    };

    public static PatchedTensor Tensor(string name, params string[] rows)
    {
        int columns = rows[0].Length;
        var mask = new byte[MaskBits.ByteLength((long)rows.Length * columns)];
        for (int r = 0; r < rows.Length; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                if (rows[r][c] == '#')
                {
                    MaskBits.Set(mask, (r * columns) + c);
                }
            }
        }

        var finetuned = new float[rows.Length * columns];
        long[] shape = rows.Length == 1 ? [columns] : [rows.Length, columns];
        return PatchedTensor.FromMask(name, shape, finetuned, mask, TensorDType.F32, 0);
    }

    /// <summary>A patched tensor of the given shape keeping every position where <paramref name="keep"/> says so.</summary>
    public static PatchedTensor Tensor(string name, int rows, int columns, Func<int, int, bool> keep)
    {
        var mask = new byte[MaskBits.ByteLength((long)rows * columns)];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                if (keep(r, c))
                {
                    MaskBits.Set(mask, ((long)r * columns) + c);
                }
            }
        }

        return PatchedTensor.FromMask(name, [rows, columns], new float[rows * columns], mask, TensorDType.F32, 0);
    }

    public static KenDelta Delta(params PatchedTensor[] tensors) => new(Metadata, tensors, []);

    /// <summary>Six layers of a 24x40 query matrix plus an embedding and a bias: enough for every view.</summary>
    public static KenDelta SixLayers()
    {
        var tensors = new List<PatchedTensor>
        {
            Tensor("embeddings.word_embeddings.weight", 30, 16, (r, c) => (r + c) % 2 == 0),
        };
        for (int layer = 0; layer < 6; layer++)
        {
            int l = layer;
            tensors.Add(Tensor($"encoder.layer.{layer}.attention.self.query.weight", 24, 40, (r, c) => (c + l) % 4 < 2));
            tensors.Add(Tensor($"encoder.layer.{layer}.attention.self.query.bias", "##..##..##"));
        }

        return Delta([.. tensors]);
    }
}
