using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Onnx;
using Ken.Format.Deltas;
using Ken.Pruning.Pipeline;
using Ken.Runtime.Backbone;
using Ken.Runtime.Backends;

namespace Ken.Runtime.Tests.Backbone;

/// <summary>
/// One minilm backbone and the arctic-xs deltas against it, shared by every backbone test class
/// (loading and pruning take seconds). The deltas use the magnitude method: KEN's per-row KDE over all
/// 22M weights would take minutes on a small CI machine, and the runtime does not care which positions
/// were chosen.
/// </summary>
public sealed class BackboneFixture : IDisposable
{
    private readonly Lazy<KenDelta> _full;
    private readonly Lazy<KenDelta> _half;
    private readonly Lazy<KenDelta> _random;
    private readonly Lazy<KenDelta> _block16;

    public BackboneFixture()
    {
        MiniLm = DefaultModels.Get("minilm");
        Arctic = DefaultModels.Get("arctic-xs");
        MiniLmCheckpoint = OnnxCheckpoint.Open(MiniLm.ModelPath);
        ArcticCheckpoint = OnnxCheckpoint.Open(Arctic.ModelPath);
        Backend = PatchingBackend.Load(new BackboneOptions
        {
            ModelPath = MiniLm.ModelPath,
            VocabPath = MiniLm.VocabPath,
            Name = "minilm",
            Slots = 2,
            MaxBatchSize = 4,
        });
        _full = new Lazy<KenDelta>(() => BuildArcticDelta("arctic-full", PruneBudget.Fraction(1.0), "magnitude"));
        _half = new Lazy<KenDelta>(() => BuildArcticDelta("arctic-half", PruneBudget.Fraction(0.5), "magnitude"));
        _random = new Lazy<KenDelta>(() => BuildArcticDelta("arctic-random", PruneBudget.Fraction(0.3), "random"));
        _block16 = new Lazy<KenDelta>(() => BuildArcticDelta("arctic-block16", PruneBudget.Fraction(0.05), "magnitude", block: 16));
    }

    public static IReadOnlyList<string> Texts { get; } =
    [
        "The quick brown fox jumps over the lazy dog.",
        "Ken serves many fine-tuned variants of one transformer.",
        "Café au lait, s'il vous plaît!",
    ];

    public DefaultModel MiniLm { get; }

    public DefaultModel Arctic { get; }

    public OnnxCheckpoint MiniLmCheckpoint { get; }

    public OnnxCheckpoint ArcticCheckpoint { get; }

    public PatchingBackend Backend { get; }

    /// <summary>arctic-xs against minilm keeping every value: serves arctic-xs itself (cls, normalized).</summary>
    public KenDelta FullDelta => _full.Value;

    /// <summary>arctic-xs against minilm keeping half of each row.</summary>
    public KenDelta HalfDelta => _half.Value;

    /// <summary>A second, different task (random 30%).</summary>
    public KenDelta RandomDelta => _random.Value;

    /// <summary>Magnitude selection at keep 0.05 in aligned blocks of 16 values (one 64-byte line of F32).</summary>
    public KenDelta Block16Delta => _block16.Value;

    public void Dispose()
    {
        Backend.Dispose();
        MiniLmCheckpoint.Dispose();
        ArcticCheckpoint.Dispose();
    }

    private KenDelta BuildArcticDelta(string task, PruneBudget budget, string method, int block = 1) =>
        DeltaBuilder.Build(MiniLmCheckpoint, ArcticCheckpoint, new PruneOptions
        {
            Budget = budget,
            Method = method,
            Seed = 7,
            Block = block,
            Task = task,
            Kind = "embedding",
            Pooling = "cls",
            Normalize = true,
            BaseModel = "minilm",
        });
}
