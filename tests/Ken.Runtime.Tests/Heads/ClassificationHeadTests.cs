using Ken.Format;
using Ken.Runtime.Heads;

namespace Ken.Runtime.Tests.Heads;

public class ClassificationHeadTests
{
    [Fact]
    public void Softmax_is_stable_for_large_logits()
    {
        float[] logits = [1000, 1001, -1000];

        ClassificationHead.Softmax(logits);

        var e = MathF.Exp(-1);
        Assert.Equal(e / (1 + e), logits[0], 1e-6f);
        Assert.Equal(1 / (1 + e), logits[1], 1e-6f);
        Assert.Equal(0, logits[2], 1e-6f);
    }

    [Fact]
    public void Classify_picks_the_most_probable_label_per_text()
    {
        // Three labels over hidden size 2: logits = [x0, x1, -x0 - x1 + 1].
        var head = new ClassificationHead(["neg", "pos", "other"], [1, 0, 0, 1, -1, -1], [0, 0, 1], 2);
        float[] pooled = [2, 0, 0, 3, -1, -1];

        var results = head.Classify(pooled, 3);

        Assert.Equal(["neg", "pos", "other"], results.Select(r => r.Label));
        Assert.Equal([0, 1, 2], results.Select(r => r.LabelIndex));
        foreach (var result in results)
        {
            Assert.Equal(1, result.Scores.Sum(), 1e-5f);
            Assert.Equal(result.Scores.Max(), result.Score);
        }

        var expected = new[] { 2f, 0, -1 };
        ClassificationHead.Softmax(expected);
        Assert.Equal(expected, results[0].Scores);
    }

    [Fact]
    public void Compute_scores_writes_probabilities_in_place()
    {
        var head = new ClassificationHead(["a", "b"], [1, 0, 0, 1], [0, 0], 2);
        var scores = new float[4];

        head.ComputeScores([0, 0, 3, 1], 2, scores);

        Assert.Equal(0.5f, scores[0], 1e-6f);
        Assert.Equal(0.5f, scores[1], 1e-6f);
        Assert.Equal(1 / (1 + MathF.Exp(-2)), scores[2], 1e-6f);
    }

    [Fact]
    public void Label_count_must_match_the_classifier()
    {
        var error = Assert.Throws<KenException>(() => new ClassificationHead(["a"], [1, 0, 0, 1], [0, 0], 2));

        Assert.Contains("1 labels", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Classifier_of_another_hidden_size_is_refused()
    {
        Assert.Throws<KenException>(() => new ClassificationHead(["a", "b"], [1, 0, 0, 1], [0, 0], 3));
    }
}
