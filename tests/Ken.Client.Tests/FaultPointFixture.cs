using Ken.TestSupport;

namespace Ken.Client.Tests;

/// <summary>
/// Two embedding deltas written by the real <c>ken prune</c> (arctic-xs against minilm: magnitude 10%
/// and random 5%) and their reference outputs, taken from a fresh server that registered both without
/// any fault point armed. <see cref="FaultPointTests"/> compares every restarted server with these.
/// </summary>
public sealed class FaultPointFixture : IAsyncLifetime
{
    public const string Token = "fault-point-test-token-0123456789";

    public static readonly IReadOnlyList<string> Texts = ["hello world", "a second, longer text about serving"];

    private readonly TempDirectory dir = new();

    public string DeltaA => dir.File("a.ken");

    public string DeltaB => dir.File("b.ken");

    public float[] ReferenceA { get; private set; } = [];

    public float[] ReferenceB { get; private set; } = [];

    public static string[] ServerArgs(string dataDir) =>
        ["--data-dir", dataDir, "--admin-token", Token, "--metrics-urls", "none", "--batch-window-ms", "1"];

    internal static KenClient Client(ServerProcess server) =>
        new(new KenClientOptions { Address = server.Address, AdminToken = Token, MaxRetries = 0 });

    public static async Task<float[]> EmbedAsync(KenClient client, string task, CancellationToken cancellationToken)
    {
        var reply = await client.EmbedAsync(task, Texts, cancellationToken);
        return [.. reply.Embeddings.SelectMany(e => e.Values)];
    }

    public async ValueTask InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        var pruneA = CliProcess.RunAsync(
            ["prune", "--base", "minilm", "--finetuned", "arctic-xs", "--keep", "0.1", "--method", "magnitude", "--pooling", "cls", "--normalize", "--task", "a", "-o", DeltaA],
            timeout.Token);
        var pruneB = CliProcess.RunAsync(
            ["prune", "--base", "minilm", "--finetuned", "arctic-xs", "--keep", "0.05", "--method", "random", "--pooling", "cls", "--normalize", "--task", "b", "-o", DeltaB],
            timeout.Token);
        foreach (var pruned in await Task.WhenAll(pruneA, pruneB))
        {
            if (pruned.ExitCode != 0)
            {
                throw new InvalidOperationException($"ken prune exited with {pruned.ExitCode}: {pruned.Stderr}");
            }
        }

        await using var server = await ServerProcess.StartAsync(ServerArgs(dir.File("reference")), timeout.Token);
        using var client = Client(server);
        await client.RegisterAsync(DeltaA, "a", cancellationToken: timeout.Token);
        await client.RegisterAsync(DeltaB, "b", cancellationToken: timeout.Token);
        ReferenceA = await EmbedAsync(client, "a", timeout.Token);
        ReferenceB = await EmbedAsync(client, "b", timeout.Token);
        if (ReferenceA.SequenceEqual(ReferenceB))
        {
            throw new InvalidOperationException("the two deltas serve the same output, so the tests could not tell them apart");
        }
    }

    public ValueTask DisposeAsync()
    {
        dir.Dispose();
        return ValueTask.CompletedTask;
    }
}
