using Ken.Server.Registry;

namespace Ken.Server.Scheduling;

/// <summary>The waiting requests of one task entry. Guarded by the <see cref="WorkQueues"/> gate.</summary>
internal sealed class TaskQueue
{
    public TaskQueue(TaskEntry entry) => Entry = entry;

    public TaskEntry Entry { get; }

    public Queue<InferenceWork> Items { get; } = new();

    /// <summary>Texts of the queued requests.</summary>
    public long Texts { get; set; }

    /// <summary>A slot is collecting a batch from this queue; other slots leave it alone meanwhile.</summary>
    public bool Claimed { get; set; }

    /// <summary>Has work no slot is serving yet.</summary>
    public bool HasFreeWork => !Claimed && Items.Count > 0;
}
