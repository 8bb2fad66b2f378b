using Ken.Server.Registry;

namespace Ken.Server.Scheduling;

/// <summary>The waiting requests of one task entry. Guarded by the scheduler's gate.</summary>
internal sealed class TaskQueue
{
    public TaskQueue(TaskEntry entry) => Entry = entry;

    public TaskEntry Entry { get; }

    public Queue<InferenceWork> Items { get; } = new();

    /// <summary>Texts in <see cref="Items"/>, to know when a batch is full.</summary>
    public int Texts { get; set; }

    /// <summary>A slot is collecting a batch from this queue; other slots leave it alone meanwhile.</summary>
    public bool Claimed { get; set; }
}
