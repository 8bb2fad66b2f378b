using Ken.Cuda.Driver;
using Ken.Cuda.Patching;
using Ken.Cuda.Tests.Support;

namespace Ken.Cuda.Tests.Driver;

/// <summary>
/// A DevicePatcher on the fake driver over random tensors, with a host model of what each slot should hold
/// (the C# reference applied switch by switch) and a check that downloads every tensor and compares.
/// </summary>
public sealed class PatcherHarness : IDisposable
{
    // Word-, byte- and chunk-boundary lengths; small staging forces many upload rounds.
    public static readonly int[] Lengths = [5, 32, 100, 1024, 1025, 3000, 20_000];

    private readonly Dictionary<DeviceSlot, float[][]> expected = [];

    public PatcherHarness(int seed, int stagingBytes = 4096)
    {
        FakeDriver.Reset();
        AllocationsBefore = (FakeDriver.LiveAllocations(FakeDriver.DeviceMemory), FakeDriver.LiveAllocations(FakeDriver.PinnedMemory));
        Random = new Random(seed);
        Pristine = Lengths.Select(n => Enumerable.Range(0, n).Select(_ => (float)Random.NextDouble()).ToArray()).ToArray();
        Context = PrimaryContext.Retain(0);
        Stream = CudaStream.Create(Context);
        Patcher = new DevicePatcher(Context, Stream, Pristine.Select(p => (ReadOnlyMemory<float>)p).ToArray(), new DevicePatcherOptions { StagingBytes = stagingBytes });
    }

    public Random Random { get; }

    public float[][] Pristine { get; }

    public PrimaryContext Context { get; }

    public CudaStream Stream { get; }

    public DevicePatcher Patcher { get; }

    public (int Device, int Pinned) AllocationsBefore { get; }

    public Dictionary<DeviceTask, TaskData> Tasks { get; } = [];

    public DeviceSlot CreateSlot()
    {
        var slot = Patcher.CreateSlot();
        expected[slot] = Pristine.Select(p => p.ToArray()).ToArray();
        return slot;
    }

    public DeviceTask Bind(TaskData data)
    {
        var task = Patcher.Bind(data.ToPatches());
        Tasks[task] = data;
        return task;
    }

    /// <summary>Switches on the device and in the host model.</summary>
    public void Switch(DeviceSlot slot, DeviceTask? target)
    {
        var from = slot.Task is { } a ? Tasks[a] : null;
        var to = target is null ? null : Tasks[target];
        Patcher.Switch(slot, target);
        if (!ReferenceEquals(from, to))
        {
            ApplyToModel(slot, from, to);
        }
    }

    public void ApplyToModel(DeviceSlot slot, TaskData? from, TaskData? to)
    {
        for (var t = 0; t < Lengths.Length; t++)
        {
            PatchReference.Switch(expected[slot][t], Pristine[t], from?.Masks[t], to?.Masks[t], to?.Decoded[t]);
        }
    }

    public void ResetModel(DeviceSlot slot) => expected[slot] = Pristine.Select(p => p.ToArray()).ToArray();

    /// <summary>Downloads every tensor of the slot and compares it bit for bit with the model.</summary>
    public void AssertSlot(DeviceSlot slot, string when)
    {
        for (var t = 0; t < Lengths.Length; t++)
        {
            var actual = new float[Lengths[t]];
            Patcher.CopyToHost(slot, t, actual);
            PatchReference.AssertSame(expected[slot][t], actual, $"{when}, tensor {t}");
        }
    }

    public void Dispose()
    {
        Patcher.Dispose();
        Stream.Dispose();
        Context.Dispose();
    }
}
