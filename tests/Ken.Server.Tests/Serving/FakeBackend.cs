using System.Collections.Concurrent;
using Ken.Format.Deltas;
using Ken.Runtime.Backends;
using Ken.Runtime.Heads;
using Ken.Runtime.Tasks;
using Ken.Runtime.Tokenization;

namespace Ken.Server.Tests.Serving;

/// <summary>
/// A backend whose outputs depend only on (task in the slot, text), and which records contract
/// violations (swap during a run, run with a task the slot does not hold, two runs on one slot)
/// so that scheduler bugs fail tests.
/// </summary>
public sealed class FakeBackend : IInferenceBackend
{
    public const string MismatchKey = "fake.mismatch";
    public const int Dimension = 8;

    /// <summary>What each bound task reports as its <see cref="BoundTask.ResidentBytes"/>.</summary>
    public const long BoundBytes = 1000;

    private readonly WeightSlot[] _slots;
    private readonly int[] _running;
    private readonly FakeTokenizer _tokenizer = new();
    private readonly ConcurrentQueue<WeakReference<BoundTask>> _binds = new();
    private int _swaps;

    public FakeBackend(int slots = 2, int maxBatch = 8)
    {
        _slots = new WeightSlot[slots];
        for (var i = 0; i < slots; i++)
        {
            _slots[i] = new WeightSlot(i);
        }

        _running = new int[slots];
        MaxBatchSize = maxBatch;
    }

    public string BaseModel => "fake-base";

    public int SlotCount => _slots.Length;

    public IReadOnlyList<WeightSlot> Slots => _slots;

    public ITextTokenizer Tokenizer => _tokenizer;

    public int MaxBatchSize { get; }

    public long SlotBytes => 1 << 20;

    /// <summary>Runs wait here while it is reset, so tests can hold a slot busy.</summary>
    public ManualResetEventSlim Gate { get; } = new(true);

    public ConcurrentQueue<string> Violations { get; } = new();

    public ConcurrentQueue<string> RunTexts { get; } = new();

    /// <summary>The texts of every run, in run order.</summary>
    public ConcurrentQueue<string[]> Batches { get; } = new();

    /// <summary>Counts runs as they start (before they wait on <see cref="Gate"/>).</summary>
    public CountSignal RunsStarted { get; } = new();

    public int Swaps => Volatile.Read(ref _swaps);

    public int MaxObservedBatch { get; private set; }

    /// <summary>Every task this backend bound, held weakly, so tests can see which ones the server still keeps alive.</summary>
    public IEnumerable<WeakReference<BoundTask>> Binds => _binds;

    public BoundTask Bind(KenDelta delta)
    {
        ArgumentNullException.ThrowIfNull(delta);
        if (delta.Metadata.Extra.ContainsKey(MismatchKey))
        {
            throw new DeltaMismatchException($"tensor 'encoder.layer.0.attention.self.query.weight' has base fingerprint 0000000000000000, but this backbone's is 1111111111111111.");
        }

        var bound = new FakeTask(new TaskSpec(delta.Metadata, TaskHeads.None));
        _binds.Enqueue(new WeakReference<BoundTask>(bound));
        return bound;
    }

    /// <summary>Set by tests to make every run take this long (a slow backend: the run's thread is busy, as a real one would be).</summary>
    public TimeSpan RunTime { get; set; }

    /// <summary>Set by tests to make every run fail with this exception (an unexpected backend fault).</summary>
    public Exception? RunFailure { get; set; }

    /// <summary>Set by tests to make the start-up check fail.</summary>
    public Exception? CheckFailure { get; set; }

    public void CheckSlots()
    {
        if (CheckFailure is { } failure)
        {
            throw failure;
        }
    }

    public SwapStats Swap(SlotLease lease, BoundTask? task)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var slot = lease.IndexIn(_slots);
        if (Volatile.Read(ref _running[slot]) != 0)
        {
            Violations.Enqueue($"slot {slot} swapped while running");
        }

        if (task is not null and not FakeTask)
        {
            throw new ArgumentException($"task '{task.Name}' was not bound by this backend");
        }

        lease.Hold(task);
        lease.CountSwap();
        Interlocked.Increment(ref _swaps);
        return new SwapStats(TimeSpan.FromTicks(10), TimeSpan.FromTicks(10), 1, 1);
    }

    public TaskOutput Run(SlotLease lease, BoundTask task, IReadOnlyList<TokenizedText> texts)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(texts);
        if (RunFailure is { } failure)
        {
            throw failure;
        }

        var slot = lease.IndexIn(_slots);
        var plain = new string[texts.Count];
        for (var i = 0; i < plain.Length; i++)
        {
            plain[i] = _tokenizer.TextOf(texts[i]);
        }

        if (Interlocked.Exchange(ref _running[slot], 1) != 0)
        {
            Violations.Enqueue($"slot {slot} ran twice at once");
        }

        try
        {
            if (!ReferenceEquals(_slots[slot].Task, task))
            {
                Violations.Enqueue($"slot {slot} holds {_slots[slot].Task?.Name ?? "(base)"} but was run for {task.Name}");
                throw new InvalidOperationException("run with the wrong task");
            }

            if (plain.Length > MaxBatchSize)
            {
                Violations.Enqueue($"batch of {plain.Length} over {MaxBatchSize}");
            }

            MaxObservedBatch = Math.Max(MaxObservedBatch, plain.Length);
            Batches.Enqueue(plain);
            RunsStarted.Increment();
            Gate.Wait(TimeSpan.FromSeconds(30));
            if (RunTime > TimeSpan.Zero)
            {
                Thread.Sleep(RunTime);
            }

            lease.CountRun();
            foreach (var text in plain)
            {
                RunTexts.Enqueue(text);
            }

            var truncated = new bool[plain.Length];
            if (task.Kind == TaskKind.Embedding)
            {
                var vectors = new List<float[]>(plain.Length);
                foreach (var text in plain)
                {
                    vectors.Add(ExpectedEmbedding(task.Name, text));
                }

                return new TaskOutput(vectors, null, truncated, plain.Length);
            }

            var results = new List<ClassificationResult>(plain.Length);
            foreach (var text in plain)
            {
                var scores = ExpectedScores(task.Name, text, task.Labels.Count);
                var best = 0;
                for (var i = 1; i < scores.Length; i++)
                {
                    if (scores[i] > scores[best])
                    {
                        best = i;
                    }
                }

                results.Add(new ClassificationResult(best, task.Labels[best], scores[best], scores));
            }

            return new TaskOutput(null, results, truncated, plain.Length);
        }
        finally
        {
            Volatile.Write(ref _running[slot], 0);
        }
    }

    public static float[] ExpectedEmbedding(string task, string text)
    {
        var values = new float[Dimension];
        var h = Hash(task, text);
        for (var i = 0; i < Dimension; i++)
        {
            h = h * 6364136223846793005UL + 1442695040888963407UL;
            values[i] = (h >> 40) / (float)(1 << 24);
        }

        return values;
    }

    public static float[] ExpectedScores(string task, string text, int labels)
    {
        var raw = ExpectedEmbedding(task, text);
        var scores = new float[labels];
        var sum = 0f;
        for (var i = 0; i < labels; i++)
        {
            scores[i] = raw[i % Dimension] + 0.001f * i;
            sum += scores[i];
        }

        for (var i = 0; i < labels; i++)
        {
            scores[i] /= sum;
        }

        return scores;
    }

    public void Dispose() => Gate.Dispose();

    private sealed class FakeTask(TaskSpec spec) : BoundTask(spec, BoundBytes);

    private static ulong Hash(string task, string text)
    {
        var h = 14695981039346656037UL;
        foreach (var c in task + "\u0000" + text)
        {
            h = (h ^ c) * 1099511628211UL;
        }

        return h;
    }
}
