
using Ken.Runtime.Heads;
namespace Ken.Runtime.Patching;

/// <summary>
/// What <see cref="PatchingBackend"/> keeps in <see cref="BoundTask.State"/>: the task's patches in
/// physical layout (largest first, so parallel patching finishes evenly) and its head layers.
/// </summary>
public sealed class PreparedTask
{
    internal PreparedTask(object owner, IReadOnlyList<PhysicalPatch> patches, DenseLayer? pooler, ClassificationHead? classifier, bool usesGraphPooler)
    {
        Owner = owner;
        Patches = patches;
        Pooler = pooler;
        Classifier = classifier;
        UsesGraphPooler = usesGraphPooler;
        long values = 0;
        foreach (var patch in patches)
        {
            values += patch.Values.Length;
        }

        ValueCount = values;
    }

    public IReadOnlyList<PhysicalPatch> Patches { get; }

    /// <summary>The task's own <c>pooler.dense</c> layer (head tensors), when it pools with one the graph lacks.</summary>
    public DenseLayer? Pooler { get; }

    /// <summary>The classifier of a classification task.</summary>
    public ClassificationHead? Classifier { get; }

    /// <summary>True when pooling reads the graph's own pooler output (its weights patched like any other).</summary>
    public bool UsesGraphPooler { get; }

    /// <summary>Total kept values over all patches.</summary>
    public long ValueCount { get; }

    /// <summary>Bytes the physical patches hold (masks and values).</summary>
    public long PatchBytes
    {
        get
        {
            long bytes = 0;
            foreach (var patch in Patches)
            {
                bytes += patch.ResidentBytes;
            }

            return bytes;
        }
    }

    /// <summary>
    /// The same task without its patches, owned by <paramref name="owner"/>: for backends that keep the
    /// weights some other way (reconstructed, or a whole copy) and need only the pooling and head.
    /// </summary>
    internal PreparedTask HeadsOnly(object owner) => new(owner, [], Pooler, Classifier, UsesGraphPooler);

    /// <summary>The backend that bound the task; a task bound by one backbone must not be patched into another.</summary>
    internal object Owner { get; }
}
