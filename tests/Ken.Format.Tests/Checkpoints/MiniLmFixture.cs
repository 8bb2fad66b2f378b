using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Onnx;

namespace Ken.Format.Tests.Checkpoints;

/// <summary>The default MiniLM backbone, parsed once per test class (about a second).</summary>
public sealed class MiniLmFixture : IDisposable
{
    public MiniLmFixture()
    {
        Model = DefaultModels.Get("minilm");
        Checkpoint = OnnxCheckpoint.Open(Model.ModelPath);
    }

    public DefaultModel Model { get; }

    public OnnxCheckpoint Checkpoint { get; }

    public void Dispose() => Checkpoint.Dispose();
}
