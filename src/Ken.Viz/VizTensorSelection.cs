using Ken.Format;
using Ken.Format.Checkpoints;
using Ken.Format.Deltas;

namespace Ken.Viz;

/// <summary>Picks the patched tensors a view shows, by exact name or glob.</summary>
public static class VizTensorSelection
{
    /// <summary>
    /// The tensors matching <paramref name="pattern"/> (an exact name, or a glob where <c>*</c> spans
    /// dots), ordered by layer index then name, so <c>layer.10</c> follows <c>layer.9</c>.
    /// </summary>
    /// <exception cref="KenException">Nothing matches; the message lists some names that exist.</exception>
    public static IReadOnlyList<PatchedTensor> Select(KenDelta delta, string pattern)
    {
        var glob = new TensorGlob(pattern);
        var matches = delta.PatchedTensors.Where(t => t.Name == pattern || glob.IsMatch(t.Name))
            .OrderBy(t => LayerNames.LayerIndex(t.Name) ?? -1)
            .ThenBy(t => t.Name, StringComparer.Ordinal)
            .ToList();
        if (matches.Count == 0)
        {
            throw new KenException($"no patched tensor matches '{pattern}'; {Available(delta)}");
        }

        return matches;
    }

    /// <summary>
    /// The tensors that are <paramref name="name"/> in some layer (same name but for the layer
    /// index), in layer order. Matched on the exact kind, not as a glob: the glob
    /// <c>encoder.layer.*.output.dense.weight</c> would also take <c>attention.output.dense.weight</c>.
    /// </summary>
    public static IReadOnlyList<PatchedTensor> SameKind(KenDelta delta, string name)
    {
        string kind = LayerNames.Kind(name);
        return delta.PatchedTensors.Where(t => LayerNames.Kind(t.Name) == kind)
            .OrderBy(t => LayerNames.LayerIndex(t.Name) ?? -1)
            .ThenBy(t => t.Name, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// The tensor shown when none is named: the first matrix (2-D or more) inside a layer (the
    /// embedding tables are tall and say little), else the first matrix, else the first tensor.
    /// </summary>
    /// <exception cref="KenException">The delta patches no tensor.</exception>
    public static PatchedTensor Default(KenDelta delta)
    {
        if (delta.PatchedTensors.Count == 0)
        {
            throw new KenException("the delta patches no base tensor (it holds only head tensors), so there is no mask to show.");
        }

        return delta.PatchedTensors.FirstOrDefault(t => t.Shape.Count >= 2 && LayerNames.LayerIndex(t.Name) is not null)
            ?? delta.PatchedTensors.FirstOrDefault(t => t.Shape.Count >= 2)
            ?? delta.PatchedTensors[0];
    }

    private static string Available(KenDelta delta)
    {
        const int Shown = 8;
        var names = delta.PatchedTensors.Take(Shown).Select(t => t.Name).ToList();
        string more = delta.PatchedTensors.Count > Shown ? $", ... ({delta.PatchedTensors.Count} in all; `ken inspect` lists them)" : string.Empty;
        return names.Count == 0
            ? "the delta patches no tensor."
            : "try one of: " + string.Join(", ", names) + more + ". A glob such as 'encoder.layer.*.attention.self.query.weight' selects one matrix in every layer.";
    }
}
