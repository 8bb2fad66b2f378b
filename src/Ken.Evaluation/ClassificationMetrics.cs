namespace Ken.Evaluation;

/// <summary>Accuracy and macro-averaged F1 of predicted against gold label indices.</summary>
public static class ClassificationMetrics
{
    public static double Accuracy(IReadOnlyList<int> gold, IReadOnlyList<int> predicted)
    {
        CheckLengths(gold, predicted);
        int correct = 0;
        for (int i = 0; i < gold.Count; i++)
        {
            if (gold[i] == predicted[i])
            {
                correct++;
            }
        }

        return correct / (double)gold.Count;
    }

    /// <summary>
    /// Unweighted mean of per-label F1 over the labels that occur in gold or predictions (as
    /// scikit-learn does); a label with no true positives has F1 0.
    /// </summary>
    public static double MacroF1(IReadOnlyList<int> gold, IReadOnlyList<int> predicted, int labelCount)
    {
        CheckLengths(gold, predicted);
        var tp = new int[labelCount];
        var fp = new int[labelCount];
        var fn = new int[labelCount];
        for (int i = 0; i < gold.Count; i++)
        {
            if (gold[i] == predicted[i])
            {
                tp[gold[i]]++;
            }
            else
            {
                fp[predicted[i]]++;
                fn[gold[i]]++;
            }
        }

        double sum = 0;
        int present = 0;
        for (int c = 0; c < labelCount; c++)
        {
            if (tp[c] + fp[c] + fn[c] == 0)
            {
                continue;
            }

            present++;
            sum += 2.0 * tp[c] / ((2.0 * tp[c]) + fp[c] + fn[c]);
        }

        return present == 0 ? 0 : sum / present;
    }

    private static void CheckLengths(IReadOnlyList<int> gold, IReadOnlyList<int> predicted)
    {
        ArgumentNullException.ThrowIfNull(gold);
        ArgumentNullException.ThrowIfNull(predicted);
        if (gold.Count != predicted.Count || gold.Count == 0)
        {
            throw new ArgumentException($"need as many predictions as gold labels, and at least one ({gold.Count} gold, {predicted.Count} predicted)");
        }
    }
}
