using Ken.Format;
using Ken.Format.Checkpoints;
using Ken.Format.Deltas;
using Ken.Pruning.Pipeline;
using Ken.TestSupport;

namespace Ken.Pruning.Tests.Pipeline;

public sealed class DeltaBuilderTests
{
    private const string Config = """{"id2label": {"1": "spam", "0": "ham"}}""";

    private static float[] Ramp(int n, float scale, int seed)
    {
        var rng = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = (float)((rng.NextDouble() - 0.5) * scale);
        }

        return a;
    }

    private static float[] Shift(float[] a, float by, int seed)
    {
        var rng = new Random(seed);
        var b = (float[])a.Clone();
        for (int i = 0; i < b.Length; i++)
        {
            b[i] += (float)(rng.NextDouble() * by);
        }

        return b;
    }

    /// <summary>A base encoder and a `bert.`-prefixed classifier fine-tuned from it.</summary>
    private static (InMemoryCheckpoint Base, InMemoryCheckpoint Finetuned) Pair(TensorDType ftType = TensorDType.F32)
    {
        var w = Ramp(6 * 10, 0.2f, 1);
        var bias = Ramp(6, 0.2f, 2);
        var ln = Ramp(10, 0.2f, 3);
        var b = new InMemoryCheckpoint("base")
            .Add("encoder.layer.0.dense.weight", [6, 10], w)
            .Add("encoder.layer.0.dense.bias", [6], bias)
            .Add("encoder.layer.0.LayerNorm.weight", [10], ln);
        var f = new InMemoryCheckpoint("finetuned", Config)
            .Add("bert.encoder.layer.0.dense.weight", [6, 10], Shift(w, 0.01f, 4), ftType)
            .Add("bert.encoder.layer.0.dense.bias", [6], Shift(bias, 0.01f, 5), ftType)
            .Add("bert.encoder.layer.0.LayerNorm.weight", [10], (float[])ln.Clone(), ftType)
            .Add("classifier.weight", [2, 6], Ramp(12, 0.5f, 6), ftType)
            .Add("classifier.bias", [2], [0.1f, -0.1f], ftType);
        return (b, f);
    }

    private static KenDelta Build(ICheckpoint b, ICheckpoint f, PruneOptions options) =>
        DeltaBuilder.Build(b, f, options, progress: null, TestContext.Current.CancellationToken);

    private static PatchedTensor Patched(KenDelta d, string name)
    {
        foreach (var t in d.PatchedTensors)
        {
            if (t.Name == name)
            {
                return t;
            }
        }

        throw new Xunit.Sdk.XunitException($"{name} not patched");
    }

    [Fact]
    public void Classifier_prefix_is_stripped_heads_stored_whole_identical_tensors_skipped()
    {
        var (b, f) = Pair();
        var d = Build(b, f, new PruneOptions { Budget = PruneBudget.Absolute(3), Task = "t" });

        Assert.Equal(TaskKind.Classification, d.Metadata.Kind);
        Assert.Equal(PoolingMode.Pooler, d.Metadata.Pooling);
        Assert.Equal(["ham", "spam"], d.Metadata.Labels);
        Assert.Equal(3, d.Metadata.K);
        Assert.Equal(["encoder.layer.0.dense.weight", "encoder.layer.0.dense.bias"], d.PatchedTensors.Select(t => t.Name));
        Assert.Equal(["classifier.weight", "classifier.bias"], d.HeadTensors.Select(t => t.Name));
        Assert.Equal(f.Data("classifier.weight"), d.HeadTensors[0].Data);
    }

    [Fact]
    public void Every_row_keeps_exactly_k_and_values_are_the_finetuned_ones_in_order()
    {
        var (b, f) = Pair();
        var d = Build(b, f, new PruneOptions { Budget = PruneBudget.Absolute(3) });
        var w = Patched(d, "encoder.layer.0.dense.weight");
        var ft = f.Data("bert.encoder.layer.0.dense.weight");
        for (int r = 0; r < 6; r++)
        {
            int kept = 0;
            for (int c = 0; c < 10; c++)
            {
                kept += MaskBits.IsSet(w.Mask, (r * 10) + c) ? 1 : 0;
            }

            Assert.Equal(3, kept);
        }

        var expected = new float[w.KeptCount];
        MaskBits.Gather(w.Mask, ft, expected);
        Assert.Equal(expected, w.Values);
        Assert.Equal(TensorFingerprint.Compute(b.Data("encoder.layer.0.dense.weight")), w.BaseFingerprint);

        // The 1-D bias is one row of 6: k = 3 of 6.
        Assert.Equal(3, Patched(d, "encoder.layer.0.dense.bias").KeptCount);
    }

    [Fact]
    public void K_at_least_n_keeps_whole_rows_and_keep_fraction_rounds_half_away_from_zero()
    {
        var (b, f) = Pair();
        var whole = Build(b, f, new PruneOptions { Budget = PruneBudget.Absolute(50) });
        Assert.All(whole.PatchedTensors, t => Assert.Equal(t.ElementCount, t.KeptCount));

        var quarter = Build(b, f, new PruneOptions { Budget = PruneBudget.Fraction(0.25) });
        Assert.Equal(6 * 3, Patched(quarter, "encoder.layer.0.dense.weight").KeptCount); // round(2.5) = 3 per row of 10
        Assert.Equal(2, Patched(quarter, "encoder.layer.0.dense.bias").KeptCount); // round(1.5) = 2
    }

    [Fact]
    public void Include_and_exclude_globs_limit_the_patched_tensors()
    {
        var (b, f) = Pair();
        var onlyWeights = Build(b, f, new PruneOptions { Budget = PruneBudget.Absolute(2), Include = [new TensorGlob("encoder.*.weight")] });
        Assert.Equal(["encoder.layer.0.dense.weight"], onlyWeights.PatchedTensors.Select(t => t.Name));

        var noBias = Build(b, f, new PruneOptions { Budget = PruneBudget.Absolute(2), Exclude = [new TensorGlob("*.bias")] });
        Assert.Equal(["encoder.layer.0.dense.weight"], noBias.PatchedTensors.Select(t => t.Name));
    }

    [Fact]
    public void Values_keep_the_finetuned_dtype_unless_told_otherwise()
    {
        var (b, f) = Pair(TensorDType.F16);
        var d = Build(b, f, new PruneOptions { Budget = PruneBudget.Absolute(2) });
        Assert.All(d.PatchedTensors, t => Assert.Equal(TensorDType.F16, t.ValuesDType));
        Assert.All(d.HeadTensors, t => Assert.Equal(TensorDType.F16, t.DType));

        var bf = Build(b, f, new PruneOptions { Budget = PruneBudget.Absolute(2), ValuesDType = TensorDType.BF16 });
        Assert.All(bf.PatchedTensors, t => Assert.Equal(TensorDType.BF16, t.ValuesDType));
    }

    [Fact]
    public void Method_and_seed_are_recorded()
    {
        var (b, f) = Pair();
        var d = Build(b, f, new PruneOptions { Budget = PruneBudget.Absolute(2), Method = "random", Seed = 7 });
        Assert.Equal("random", d.Metadata.Method);
        Assert.Equal(7, d.Metadata.Seed);
        var m = Build(b, f, new PruneOptions { Budget = PruneBudget.Absolute(2), Method = "magnitude" });
        Assert.Equal("magnitude", m.Metadata.Method);
        Assert.Null(m.Metadata.Seed);
    }

    [Fact]
    public void Shape_mismatch_names_the_tensor()
    {
        var b = new InMemoryCheckpoint("base").Add("a.weight", [2, 3], new float[6]);
        var f = new InMemoryCheckpoint("ft").Add("a.weight", [3, 2], new float[6]);
        var e = Assert.Throws<KenException>(() => Build(b, f, new PruneOptions { Budget = PruneBudget.Absolute(1), Kind = "embedding" }));
        Assert.Contains("a.weight", e.Message, StringComparison.Ordinal);
        Assert.Contains("[2, 3]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Non_finite_finetuned_value_names_tensor_and_row()
    {
        var (b, f) = Pair();
        f.Data("bert.encoder.layer.0.dense.weight")[(4 * 10) + 7] = float.NegativeInfinity;
        var e = Assert.Throws<KenException>(() => Build(b, f, new PruneOptions { Budget = PruneBudget.Absolute(2) }));
        Assert.Contains("bert.encoder.layer.0.dense.weight", e.Message, StringComparison.Ordinal);
        Assert.Contains("row 4, position 7", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Classification_without_labels_says_to_pass_them()
    {
        var (b, _) = Pair();
        var f = new InMemoryCheckpoint("ft-no-config")
            .Add("encoder.layer.0.dense.weight", [6, 10], Ramp(60, 0.2f, 9))
            .Add("classifier.weight", [2, 6], new float[12]);
        var e = Assert.Throws<KenException>(() => Build(b, f, new PruneOptions { Budget = PruneBudget.Absolute(2) }));
        Assert.Contains("--labels", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Budget_k_below_one_is_refused(int k) => Assert.Throws<KenException>(() => PruneBudget.Absolute(k));

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0001)]
    [InlineData(-0.5)]
    [InlineData(double.NaN)]
    public void Budget_keep_outside_zero_one_is_refused(double keep) => Assert.Throws<KenException>(() => PruneBudget.Fraction(keep));
}
