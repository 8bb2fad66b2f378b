namespace Ken.Client.Tests;

internal sealed record TinyTensor(long[] Shape, float[] Data);
