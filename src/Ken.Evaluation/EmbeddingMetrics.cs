namespace Ken.Evaluation;

/// <summary>Cosine similarity of embeddings, in float64 so that near-identical vectors read as 1, not 1 ± rounding.</summary>
public static class EmbeddingMetrics
{
    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"vectors of different lengths ({a.Length} and {b.Length})", nameof(b));
        }

        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }

        if (na == 0 || nb == 0)
        {
            // Two zero vectors are the same embedding; one zero vector shares no direction.
            return na == nb ? 1 : 0;
        }

        return dot / Math.Sqrt(na * nb);
    }
}
