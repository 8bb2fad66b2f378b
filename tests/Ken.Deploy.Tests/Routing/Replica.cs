using Ken.Client.Tests;

namespace Ken.Deploy.Tests.Routing;

/// <summary>One server replica: its name in the proxy's configuration, its ports and data directory, and its process while it runs.</summary>
internal sealed class Replica(string name, int grpcPort, int metricsPort, string dataDir)
{
    public string Name { get; } = name;

    public int GrpcPort { get; } = grpcPort;

    public int MetricsPort { get; } = metricsPort;

    public string DataDir { get; } = dataDir;

    public string Address => $"http://127.0.0.1:{GrpcPort}";

    public string MetricsUrl => $"http://127.0.0.1:{MetricsPort}/metrics";

    public ServerProcess? Process { get; set; }
}
