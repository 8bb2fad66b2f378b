using Ken.Format;
using Ken.Runtime.Heads;

using Ken.Format.Deltas;

namespace Ken.Runtime.Tests.Heads;

public class PoolingTests
{
    private const float Tolerance = 1e-6f;

    // [batch 2, sequence 3, hidden 2]; the second token of text 0 and the padding of text 0 are chosen
    // so that a mean that forgets the mask gives a visibly different answer.
    private static readonly float[] Hidden =
    [
        1, 2,   3, 4,   100, 100,
        -1, 0,  1, 2,   3, 4,
    ];

    private static readonly long[] Mask = [1, 1, 0, 1, 1, 1];

    private static void Near(float[] expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= Tolerance, $"index {i}: expected {expected[i]}, got {actual[i]}");
        }
    }

    [Fact]
    public void Cls_takes_each_texts_first_token()
    {
        var pooled = new float[4];

        Pooling.Cls(Hidden, 2, 3, 2, pooled);

        Near([1, 2, -1, 0], pooled);
    }

    [Fact]
    public void Mean_averages_only_unmasked_tokens()
    {
        var pooled = new float[4];

        Pooling.Mean(Hidden, Mask, 2, 3, 2, pooled);

        Near([2, 3, 1, 2], pooled);
    }

    [Fact]
    public void Pooler_applies_dense_and_tanh_to_the_cls_vector()
    {
        // [out, in]: output 0 = x0 + x1, output 1 = -x1; bias [0.5, 0].
        var pooler = new DenseLayer("pooler.dense", [1, 1, 0, -1], [0.5f, 0], 2);
        var pooled = new float[4];

        Pooling.Pooler(Hidden, 2, 3, 2, pooler, pooled);

        Near([MathF.Tanh(3.5f), MathF.Tanh(-2), MathF.Tanh(-0.5f), MathF.Tanh(0)], pooled);
    }

    [Fact]
    public void Pool_normalizes_to_unit_length_when_asked()
    {
        float[] hidden = [3, 4, 0, 0];
        var pooled = new float[4];

        Pooling.Pool(PoolingMode.Cls, hidden, [1, 1], 2, 1, 2, pooled, normalize: true);

        Near([0.6f, 0.8f, 0, 0], pooled);
    }

    [Fact]
    public void Pool_dispatches_on_mode()
    {
        var mean = new float[4];
        var cls = new float[4];

        Pooling.Pool(PoolingMode.Mean, Hidden, Mask, 2, 3, 2, mean);
        Pooling.Pool(PoolingMode.Cls, Hidden, Mask, 2, 3, 2, cls);

        Near([2, 3, 1, 2], mean);
        Near([1, 2, -1, 0], cls);
    }

    [Fact]
    public void Pooler_mode_without_a_pooler_layer_is_refused()
    {
        Assert.Throws<ArgumentNullException>(() => Pooling.Pool(PoolingMode.Pooler, Hidden, Mask, 2, 3, 2, new float[4]));
    }

    [Fact]
    public void Pooler_of_the_wrong_size_is_refused()
    {
        var pooler = new DenseLayer("pooler.dense", [1, 1, 1], [0], 3);

        Assert.Throws<ArgumentException>(() => Pooling.Pooler(Hidden, 2, 3, 2, pooler, new float[4]));
    }

    [Fact]
    public void Dense_layer_with_inconsistent_shapes_is_a_user_error_naming_it()
    {
        var error = Assert.Throws<KenException>(() => new DenseLayer("pooler.dense", [1, 2, 3], [0, 0], 2));

        Assert.StartsWith("pooler.dense:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Dense_layer_with_non_finite_values_is_a_user_error()
    {
        Assert.Throws<KenException>(() => new DenseLayer("pooler.dense", [1, float.NaN, 0, 1], [0, 0], 2));
    }
}
