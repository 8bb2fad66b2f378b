namespace Ken.Cli.Tests;

internal sealed record TinyTensor(long[] Shape, float[] Data);
