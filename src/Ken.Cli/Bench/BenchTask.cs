namespace Ken.Cli.Bench;

/// <summary>A task under load and which RPC serves it.</summary>
internal sealed record BenchTask(string Name, bool IsClassification);
