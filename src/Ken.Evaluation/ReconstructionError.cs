using Ken.Format.Deltas;

namespace Ken.Evaluation;

/// <summary>
/// How much of the fine-tuning a delta throws away: sum ||W_kept − W_ft||² / sum ||W_ft − W_base||²
/// over the patched tensors. A kept position equals the fine-tuned value and a reset one the base
/// value, so the numerator is the squared change at reset positions.
/// </summary>
public sealed class ReconstructionError
{
    /// <summary>sum ||W_kept − W_ft||²: squared fine-tuning change at reset positions.</summary>
    public double ResetEnergy { get; private set; }

    /// <summary>sum ||W_ft − W_base||²: the whole squared fine-tuning change.</summary>
    public double TotalEnergy { get; private set; }

    /// <summary>Elements of the patched tensors.</summary>
    public long Elements { get; private set; }

    /// <summary>Of those, elements reset to the base.</summary>
    public long ResetElements { get; private set; }

    /// <summary>The relative error; 0 when nothing was fine-tuned.</summary>
    public double Relative => TotalEnergy == 0 ? 0 : ResetEnergy / TotalEnergy;

    public double FractionReset => Elements == 0 ? 0 : ResetElements / (double)Elements;

    /// <summary>Adds one tensor: its base and fine-tuned weights and the delta's keep mask (LSB-first bits).</summary>
    public void Add(ReadOnlySpan<float> pretrained, ReadOnlySpan<float> finetuned, ReadOnlySpan<byte> mask)
    {
        if (pretrained.Length != finetuned.Length || mask.Length < (pretrained.Length + 7) / 8)
        {
            throw new ArgumentException("base, fine-tuned and mask must describe the same tensor", nameof(mask));
        }

        double reset = 0, total = 0;
        long resetCount = 0;
        for (int i = 0; i < pretrained.Length; i++)
        {
            double d = (double)finetuned[i] - pretrained[i];
            double sq = d * d;
            total += sq;
            if ((mask[i >> 3] & (1 << (i & 7))) == 0)
            {
                reset += sq;
                resetCount++;
            }
        }

        ResetEnergy += reset;
        TotalEnergy += total;
        Elements += pretrained.Length;
        ResetElements += resetCount;
    }

    /// <summary>
    /// Measures <paramref name="delta"/> against the full fine-tuning held by <paramref name="dense"/>
    /// (a delta of the same checkpoints that keeps every value, so its values are W_ft in element order).
    /// </summary>
    public static ReconstructionError Measure(KenDelta delta, KenDelta dense, Func<string, float[]> readBase)
    {
        ArgumentNullException.ThrowIfNull(delta);
        ArgumentNullException.ThrowIfNull(dense);
        ArgumentNullException.ThrowIfNull(readBase);
        var full = new Dictionary<string, PatchedTensor>(StringComparer.Ordinal);
        foreach (var t in dense.PatchedTensors)
        {
            full[t.Name] = t;
        }

        var error = new ReconstructionError();
        foreach (var t in delta.PatchedTensors)
        {
            if (!full.TryGetValue(t.Name, out var ft) || ft.Values.Length != t.ElementCount)
            {
                throw new ArgumentException($"the dense delta does not hold all of tensor {t.Name}", nameof(dense));
            }

            error.Add(readBase(t.Name), ft.Values, t.Mask);
        }

        return error;
    }
}
