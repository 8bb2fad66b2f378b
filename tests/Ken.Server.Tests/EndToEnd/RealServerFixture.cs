using Ken.Format.Deltas;
using Ken.Runtime.Backends;
using Ken.Runtime.Tasks;
using Ken.Runtime.Tests.Backbone;
using Ken.Runtime.Tests.Backends;
using Ken.Server.Tests.Serving;

namespace Ken.Server.Tests.EndToEnd;

/// <summary>
/// One server per test class on minilm in one swap mode (2 slots, batches of up to 4), with the
/// <see cref="ServedTasks"/> in its registry, and the answers the runtime gives in-process for them.
/// </summary>
public abstract class RealServerFixture : IAsyncLifetime
{
    private readonly BackboneFixture _backbone;
    private readonly string _swapMode;
    private readonly Dictionary<(string Task, string Text), TaskOutput> _expected = [];
    private TestServer? _server;

    protected RealServerFixture(BackboneFixture backbone, string swapMode)
    {
        _backbone = backbone;
        _swapMode = swapMode;
    }

    internal TestServer Server => _server ?? throw new InvalidOperationException("the server has not started");

    public IReadOnlyList<KenDelta> Tasks { get; private set; } = [];

    public async ValueTask InitializeAsync()
    {
        var dataDir = TestServer.NewDataDir();
        Tasks = ServedTasks.Seed(dataDir, ServedTasks.Derive(_backbone.HalfDelta, _backbone.Backend.HiddenSize));
        ComputeExpected();
        _server = await TestServer.StartRealAsync(
            dataDir, CancellationToken.None, "--model", "minilm", "--swap-mode", _swapMode, "--slots", "2", "--max-batch", "4");
    }

    /// <summary>What <see cref="PatchingBackend.Run"/> answers in-process for <paramref name="text"/> alone.</summary>
    public TaskOutput Expected(string task, string text) => _expected[(task, text)];

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    private void ComputeExpected()
    {
        var backend = _backbone.Backend;
        try
        {
            foreach (var delta in Tasks)
            {
                var task = backend.Bind(delta);
                backend.Swap(0, task);
                foreach (var text in ServedTasks.Texts)
                {
                    _expected[(task.Name, text)] = backend.Run(0, task, [text]);
                }
            }
        }
        finally
        {
            backend.Swap(0, null);
        }
    }
}
