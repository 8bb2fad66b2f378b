using Ken.Format.Checkpoints;

namespace Ken.Format.Deltas;

/// <summary>
/// Checks that a delta was built against a given base: every patched tensor exists there with the
/// same shape and the same fingerprint.
/// </summary>
public static class DeltaCompatibility
{
    /// <summary>Throws <see cref="KenException"/> naming the first tensor that does not fit.</summary>
    public static void EnsureShapes(ICheckpoint baseModel, KenDelta delta)
    {
        foreach (var t in delta.PatchedTensors)
        {
            if (!baseModel.TryGetInfo(t.Name, out var info))
            {
                throw new KenException(
                    $"delta '{delta.Metadata.Task}' patches tensor {t.Name}, which the base {baseModel.Source} does not have; "
                    + "use the base the delta was built from, or rebuild the delta with ken prune against this base.");
            }

            if (!info.Shape.SequenceEqual(t.Shape))
            {
                throw new KenException(
                    $"delta '{delta.Metadata.Task}' patches tensor {t.Name} with shape [{string.Join(", ", t.Shape)}] but the base {baseModel.Source} has {info.ShapeText}; "
                    + "rebuild the delta with ken prune against this base.");
            }
        }
    }

    /// <summary>Throws when <paramref name="baseValues"/> (canonical float32) is not what the delta was built on.</summary>
    public static void EnsureFingerprint(KenDelta delta, PatchedTensor tensor, ReadOnlySpan<float> baseValues, string baseSource)
    {
        ulong actual = TensorFingerprint.Compute(baseValues);
        if (actual != tensor.BaseFingerprint)
        {
            throw new KenException(
                $"delta '{delta.Metadata.Task}' was built against another base: tensor {tensor.Name} has fingerprint {TensorFingerprint.ToHex(actual)} in {baseSource} "
                + $"but the delta expects {TensorFingerprint.ToHex(tensor.BaseFingerprint)}; rebuild the delta with ken prune --base set to this base.");
        }
    }
}
