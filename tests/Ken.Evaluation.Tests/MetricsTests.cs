using Ken.Evaluation;
using Ken.Format;

namespace Ken.Evaluation.Tests;

/// <summary>The evaluation metrics on hand-made numbers.</summary>
public sealed class MetricsTests
{
    [Fact]
    public void Accuracy_counts_exact_matches()
    {
        Assert.Equal(0.6, ClassificationMetrics.Accuracy([0, 1, 2, 1, 0], [0, 1, 1, 1, 2]), 12);
    }

    [Fact]
    public void Macro_F1_averages_per_label_F1_over_labels_that_occur()
    {
        // Label 0: tp 1, fp 0, fn 1 → 2/3. Label 1: tp 2, fp 1, fn 0 → 4/5. Label 2: tp 0, fp 1, fn 1 → 0.
        // Label 3 never occurs and is left out of the mean (as scikit-learn does).
        double f1 = ClassificationMetrics.MacroF1([0, 1, 2, 1, 0], [0, 1, 1, 1, 2], labelCount: 4);
        Assert.Equal(((2.0 / 3.0) + 0.8 + 0) / 3, f1, 12);
    }

    [Fact]
    public void Macro_F1_is_1_for_perfect_predictions_and_0_when_all_wrong()
    {
        Assert.Equal(1.0, ClassificationMetrics.MacroF1([0, 1, 1], [0, 1, 1], 2), 12);
        Assert.Equal(0.0, ClassificationMetrics.MacroF1([0, 0], [1, 1], 2), 12);
    }

    [Fact]
    public void Cosine_of_hand_made_vectors()
    {
        Assert.Equal(1.0, EmbeddingMetrics.Cosine([1, 2, 3], [2, 4, 6]), 12);
        Assert.Equal(0.0, EmbeddingMetrics.Cosine([1, 0], [0, 5]), 12);
        Assert.Equal(-1.0, EmbeddingMetrics.Cosine([1, 1], [-2, -2]), 12);
        Assert.Equal(1 / Math.Sqrt(2), EmbeddingMetrics.Cosine([1, 0], [1, 1]), 12);
    }

    [Fact]
    public void Reconstruction_error_is_the_squared_change_at_reset_positions_over_the_whole_change()
    {
        var error = new ReconstructionError();
        // Changes 1, 2, 0, 3; mask keeps positions 1 and 3 (bits 0b1010): reset 1² + 0² of 1 + 4 + 0 + 9.
        error.Add([0, 0, 5, 1], [1, 2, 5, 4], [0b1010]);
        Assert.Equal(1.0, error.ResetEnergy, 12);
        Assert.Equal(14.0, error.TotalEnergy, 12);
        Assert.Equal(1.0 / 14.0, error.Relative, 12);
        Assert.Equal(0.5, error.FractionReset, 12);

        // A second tensor, fully reset: its whole change counts.
        error.Add([0, 0], [2, 0], [0]);
        Assert.Equal(5.0 / 18.0, error.Relative, 12);
        Assert.Equal(4.0 / 6.0, error.FractionReset, 12);
    }

    [Fact]
    public void Gold_labels_map_through_the_task_labels_and_an_unknown_one_names_its_line()
    {
        var labels = new[] { "ham", "spam" };
        Assert.Equal([1, 0], TaskEvaluator.GoldLabels([new EvalExample(1, "a", "spam"), new EvalExample(2, "b", "ham")], labels));
        var e = Assert.Throws<KenException>(() => TaskEvaluator.GoldLabels([new EvalExample(7, "a", "eggs")], labels));
        Assert.Contains("line 7", e.Message, StringComparison.Ordinal);
        Assert.Contains("ham, spam", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_limit_takes_rows_spread_over_the_file()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(path, Enumerable.Range(0, 10).Select(i => $$"""{"text": "t{{i}}", "label": "x"}"""));
            var rows = EvalDataReader.Read(path, limit: 3);
            Assert.Equal(["t0", "t3", "t6"], rows.Select(r => r.Text));
            Assert.Equal([1, 4, 7], rows.Select(r => r.Line));

            File.AppendAllText(path, "{\"label\": \"x\"}\n");
            var e = Assert.Throws<KenException>(() => EvalDataReader.Read(path));
            Assert.Contains("line 11", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
