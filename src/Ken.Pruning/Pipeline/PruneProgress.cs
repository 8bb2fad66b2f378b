namespace Ken.Pruning.Pipeline;

/// <summary>Progress of a prune: elements processed so far out of all elements to look at.</summary>
public readonly record struct PruneProgress(long ElementsDone, long ElementsTotal, int TensorsDone, int TensorsTotal, string CurrentTensor);
