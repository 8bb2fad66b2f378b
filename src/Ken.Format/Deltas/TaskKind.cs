namespace Ken.Format.Deltas;

/// <summary>What a task returns: labels with scores, or embedding vectors.</summary>
public enum TaskKind
{
    /// <summary>Metadata spelling <c>classification</c>.</summary>
    Classification,

    /// <summary>Metadata spelling <c>embedding</c>.</summary>
    Embedding,
}
