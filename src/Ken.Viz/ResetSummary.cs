using Ken.Format.Checkpoints;
using Ken.Format.Deltas;

namespace Ken.Viz;

/// <summary>
/// How much of the model a delta resets to the pre-trained weights: per tensor, per layer and
/// overall. Head tensors (stored whole) are not base weights and are counted apart.
/// </summary>
public sealed class ResetSummary
{
    private ResetSummary(IReadOnlyList<TensorResetStats> tensors, IReadOnlyList<GroupResetStats> layers, GroupResetStats overall, int headTensorCount, long headElements)
    {
        Tensors = tensors;
        Layers = layers;
        Overall = overall;
        HeadTensorCount = headTensorCount;
        HeadElements = headElements;
    }

    public IReadOnlyList<TensorResetStats> Tensors { get; }

    /// <summary>Groups in the order their first tensor appears (see <see cref="LayerNames.Group"/>).</summary>
    public IReadOnlyList<GroupResetStats> Layers { get; }

    public GroupResetStats Overall { get; }

    public int HeadTensorCount { get; }

    public long HeadElements { get; }

    /// <summary>
    /// Summarizes <paramref name="delta"/>. With <paramref name="baseTensors"/> (the base checkpoint's
    /// tensor list) the base tensors the delta leaves alone are counted too, as wholly reset, so the
    /// overall figure covers the whole backbone and not only the patched part.
    /// </summary>
    public static ResetSummary Compute(KenDelta delta, IReadOnlyList<TensorInfo>? baseTensors = null)
    {
        var tensors = new List<TensorResetStats>();
        var patched = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in delta.PatchedTensors)
        {
            patched.Add(t.Name);
        }

        if (baseTensors is null)
        {
            foreach (var t in delta.PatchedTensors)
            {
                tensors.Add(new TensorResetStats(t.Name, LayerNames.Group(t.Name), t.ElementCount, t.KeptCount, InDelta: true));
            }
        }
        else
        {
            // Base order keeps layers in model order; a patched tensor the base lacks still shows up.
            var byName = delta.PatchedTensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
            foreach (var info in baseTensors)
            {
                tensors.Add(byName.TryGetValue(info.Name, out var t)
                    ? new TensorResetStats(t.Name, LayerNames.Group(t.Name), t.ElementCount, t.KeptCount, InDelta: true)
                    : new TensorResetStats(info.Name, LayerNames.Group(info.Name), info.ElementCount, 0, InDelta: false));
                byName.Remove(info.Name);
            }

            foreach (var t in delta.PatchedTensors)
            {
                if (byName.ContainsKey(t.Name))
                {
                    tensors.Add(new TensorResetStats(t.Name, LayerNames.Group(t.Name), t.ElementCount, t.KeptCount, InDelta: true));
                }
            }
        }

        var layers = new List<GroupResetStats>();
        var layerIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        long elements = 0;
        long kept = 0;
        foreach (var t in tensors)
        {
            if (!layerIndex.TryGetValue(t.Layer, out int i))
            {
                i = layers.Count;
                layerIndex.Add(t.Layer, i);
                layers.Add(new GroupResetStats(t.Layer, 0, 0, 0));
            }

            var g = layers[i];
            layers[i] = g with { TensorCount = g.TensorCount + 1, Elements = g.Elements + t.Elements, Kept = g.Kept + t.Kept };
            elements += t.Elements;
            kept += t.Kept;
        }

        long headElements = 0;
        foreach (var h in delta.HeadTensors)
        {
            headElements += h.Data.Length;
        }

        return new ResetSummary(tensors, layers, new GroupResetStats("overall", tensors.Count, elements, kept), delta.HeadTensors.Count, headElements);
    }
}
