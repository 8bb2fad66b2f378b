using Ken.Runtime.Tokenization;

namespace Ken.Runtime.Backbone;

/// <summary>
/// One slot's per-run buffers: the padded token batch and the encoder's outputs. Only the holder of the
/// slot's lease touches them, so runs on different slots never share scratch.
/// </summary>
internal sealed class SlotScratch
{
    public SlotScratch(TokenizedBatch batch, int hiddenCapacity, int poolerCapacity)
    {
        Batch = batch;
        Hidden = new float[hiddenCapacity];
        Pooled = poolerCapacity > 0 ? new float[poolerCapacity] : null;
    }

    public TokenizedBatch Batch { get; }

    /// <summary>last_hidden_state of the latest run, <c>[batch, sequence, hidden]</c> at the front.</summary>
    public float[] Hidden { get; }

    /// <summary>The graph's pooler output of the latest run, when the graph has one.</summary>
    public float[]? Pooled { get; }
}
