namespace Ken.Runtime.Heads;

/// <summary>What a task puts on top of the encoder: its pooling layer, when it brings one, and its classifier.</summary>
public sealed class TaskHeads
{
    public TaskHeads(DenseLayer? pooler, ClassificationHead? classifier, bool usesGraphPooler)
    {
        Pooler = pooler;
        Classifier = classifier;
        UsesGraphPooler = usesGraphPooler;
    }

    /// <summary>No layers of its own: an embedding task that pools the hidden states directly.</summary>
    public static TaskHeads None { get; } = new(null, null, usesGraphPooler: false);

    /// <summary>The task's own <c>pooler.dense</c> layer (head tensors), when it pools with one the graph lacks.</summary>
    public DenseLayer? Pooler { get; }

    /// <summary>The classifier of a classification task.</summary>
    public ClassificationHead? Classifier { get; }

    /// <summary>True when pooling reads the graph's own pooler output (its weights patched like any other).</summary>
    public bool UsesGraphPooler { get; }
}
