using Ken.Format.Checkpoints;
using Ken.Format.Deltas;

namespace Ken.Cli.Commands;

/// <summary>The numbers <c>ken inspect</c> shows, shaped for both the tables and <c>--json</c>.</summary>
internal sealed record DeltaReport(
    string File,
    IReadOnlyDictionary<string, string> Metadata,
    IReadOnlyList<DeltaReport.TensorRow> Tensors,
    IReadOnlyList<DeltaReport.HeadRow> Heads,
    long PatchedParameters,
    long KeptParameters,
    double KeptFraction,
    long FileBytes,
    long DenseBytes)
{
    public static DeltaReport Create(KenDelta delta, string path, long fileBytes)
    {
        var rows = new List<TensorRow>();
        long patched = 0, kept = 0, dense = 0;
        foreach (var t in delta.PatchedTensors)
        {
            long numel = t.ElementCount;
            int size = FloatEncoding.SizeOf(t.ValuesDType);
            rows.Add(new TensorRow(t.Name, Shape(t.Shape), t.ValuesDType.ToString(), numel, t.KeptCount, t.KeptCount / (double)Math.Max(1, numel), t.Mask.Length + (t.KeptCount * size)));
            patched += numel;
            kept += t.KeptCount;
            dense += numel * size;
        }

        var heads = new List<HeadRow>();
        foreach (var h in delta.HeadTensors)
        {
            long numel = h.Data.Length;
            heads.Add(new HeadRow(h.Name, Shape(h.Shape), h.DType.ToString(), numel, numel * FloatEncoding.SizeOf(h.DType)));
            dense += numel * FloatEncoding.SizeOf(h.DType);
        }

        return new DeltaReport(
            Path.GetFullPath(path),
            delta.Metadata.ToDictionary(),
            rows,
            heads,
            patched,
            kept,
            kept / (double)Math.Max(1, patched),
            fileBytes,
            dense);
    }

    private static string Shape(IReadOnlyList<long> shape) => "[" + string.Join(", ", shape) + "]";

    internal sealed record TensorRow(string Name, string Shape, string DType, long Elements, long Kept, double KeptFraction, long Bytes);

    internal sealed record HeadRow(string Name, string Shape, string DType, long Elements, long Bytes);
}
