using Ken.Cuda.Driver;
using Ken.Cuda.Patching;
using Ken.Cuda.Tests.Driver;
using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Onnx;
using Ken.Runtime.Backbone;
using Ken.Runtime.Backends.Cuda;

namespace Ken.Runtime.Tests.Backends.Cuda;

/// <summary>
/// The device delta tier on the real Ken.Cuda driver layer over the fake libcuda.so.1: uploads on a miss,
/// evictions within the budget, pins and holds, and the weights a slot holds after each switch.
/// </summary>
[Collection(CudaDriverGroup.Name)]
public sealed class DeviceDeltaTierTests : IDisposable
{
    private static readonly int[] Lengths = [37, 1000, 4100];

    private readonly Random _random = new(12);
    private readonly float[][] _pristine;
    private readonly PrimaryContext _context;
    private readonly CudaStream _stream;
    private readonly DevicePatcher _patcher;

    public DeviceDeltaTierTests()
    {
        if (CudaDriverGroup.HasRealDriver)
        {
            Assert.Skip("this machine has a real CUDA driver; the fake-driver tests would replace it in this process (the GPU tests run instead)");
        }

        FakeDriver.Reset();
        _pristine = Lengths.Select(n => Enumerable.Range(0, n).Select(_ => (float)_random.NextDouble()).ToArray()).ToArray();
        _context = PrimaryContext.Retain(0);
        _stream = CudaStream.Create(_context);
        _patcher = new DevicePatcher(_context, _stream, _pristine.Select(p => (ReadOnlyMemory<float>)p).ToArray());
    }

    [Fact]
    public void A_miss_uploads_a_hit_does_not_and_the_slot_holds_the_tasks_weights()
    {
        var a = Task("a", 0.05);
        var b = Task("b", 0.5);
        var tier = Tier(budget: long.MaxValue);
        var slot = _patcher.CreateSlot();

        Switch(tier, slot, null, a);
        AssertSlotHolds(slot, a);
        Switch(tier, slot, a, b);
        AssertSlotHolds(slot, b);
        Switch(tier, slot, b, a);
        AssertSlotHolds(slot, a);
        Switch(tier, slot, a, null);
        AssertSlotHolds(slot, null);

        Assert.Equal(2, tier.Uploads);
        Assert.Equal(0, tier.Evictions);
        Assert.True(tier.IsResident(a) && tier.IsResident(b));
        Assert.Equal(0, tier.Holders(a) + tier.Holders(b));
    }

    [Fact]
    public void Over_budget_the_least_recently_used_idle_delta_is_evicted_never_a_held_or_pinned_one()
    {
        var pinned = Task("pinned", 0.5);
        var a = Task("a", 0.5);
        var b = Task("b", 0.5);
        var c = Task("c", 0.5);

        // Measure one delta's device bytes, then allow about two.
        var probe = _patcher.Bind(a.Patches);
        var bytes = probe.DeviceBytes;
        _patcher.Evict(probe);
        var tier = Tier(budget: (2 * bytes) + (bytes / 2));
        tier.Pin("pinned", pinned: true);
        var slot0 = _patcher.CreateSlot();
        var slot1 = _patcher.CreateSlot();

        Switch(tier, slot0, null, pinned);
        Switch(tier, slot0, pinned, a);   // pinned idle, a held
        Switch(tier, slot1, null, b);     // over budget: pinned and a, b held... nothing evictable
        Assert.Equal(3, tier.Count);
        Switch(tier, slot1, b, c);        // b idle and least recent: evicted
        Assert.False(tier.IsResident(b));
        Assert.True(tier.IsResident(pinned) && tier.IsResident(a) && tier.IsResident(c));
        AssertSlotHolds(slot0, a);
        AssertSlotHolds(slot1, c);

        // b comes back through another upload and is served exactly.
        Switch(tier, slot1, c, b);
        AssertSlotHolds(slot1, b);
        Assert.True(tier.IsResident(pinned));
        Assert.Equal(5, tier.Uploads);
        Assert.True(tier.Evictions >= 2);
        Assert.True(tier.Bytes <= (3 * bytes) + bytes, $"{tier.Bytes} bytes resident");
    }

    [Fact]
    public void Out_of_device_memory_frees_idle_deltas_and_tries_once_more()
    {
        var idle = Task("idle", 0.2);
        var held = Task("held", 0.2);
        var a = Task("a", 0.2);
        var tier = Tier(budget: long.MaxValue);
        var slot0 = _patcher.CreateSlot();
        var slot1 = _patcher.CreateSlot();
        Switch(tier, slot0, null, idle);
        Switch(tier, slot0, idle, null);
        Switch(tier, slot1, null, held);

        FakeDriver.FailNext("cuMemAlloc_v2", 2); // CUDA_ERROR_OUT_OF_MEMORY on a's first allocation
        Switch(tier, slot0, null, a);

        Assert.False(tier.IsResident(idle));
        Assert.True(tier.IsResident(held) && tier.IsResident(a));
        Assert.Equal(1, tier.Evictions);
        AssertSlotHolds(slot0, a);
        AssertSlotHolds(slot1, held);
    }

    [Fact]
    public void A_refused_upload_leaves_nothing_resident()
    {
        var a = Task("a", 0.2);
        var tier = Tier(budget: long.MaxValue);
        FakeDriver.FailNext("cuMemcpyHtoDAsync_v2", 1);
        var failure = Assert.Throws<CudaException>(() => tier.AcquireHeld(a));
        Assert.Equal(1, failure.Result);
        Assert.False(tier.IsResident(a));
        Assert.Equal(0, tier.Bytes);

        var slot = _patcher.CreateSlot();
        Switch(tier, slot, null, a);
        AssertSlotHolds(slot, a);
    }

    [Fact]
    public void A_slots_weights_appear_to_onnx_runtime_at_aligned_disjoint_device_addresses_in_graph_shape()
    {
        // Graph shapes of the three test tensors: a transposed MatMul weight keeps its ONNX layout.
        long[][] shapes = [[37], [40, 25], [41, 100]];
        var tensors = shapes.Select((shape, i) => new BackboneTensor(
            i,
            new OnnxTensorMapping($"t{i}.weight", $"onnx::{i}", i == 1, new TensorInfo($"t{i}.weight", TensorDType.F32, shape.Reverse().ToArray()), shape),
            0)).ToArray();
        var slot = _patcher.CreateSlot();

        var views = DeviceTensorView.Describe(tensors, slot.GetWeightAddress, slot.GetElementCount);

        for (var i = 0; i < views.Length; i++)
        {
            Assert.Equal($"onnx::{i}", views[i].InputName);
            Assert.Equal(shapes[i], views[i].Shape);
            Assert.Equal(Lengths[i] * sizeof(float), views[i].Bytes);
            Assert.Equal((nint)slot.GetWeightAddress(i), views[i].Address);
            Assert.Equal(0, views[i].Address % 256);
            if (i > 0)
            {
                Assert.True(views[i].Address >= views[i - 1].Address + (nint)views[i - 1].Bytes, "device buffers overlap");
            }
        }

        // A graph whose shape disagrees with the slot's buffer is refused before anything is bound.
        var wrong = tensors.ToArray();
        wrong[2] = wrong[2] with { Mapping = wrong[2].Mapping with { OnnxShape = [41, 99] } };
        var ex = Assert.Throws<InvalidOperationException>(() => DeviceTensorView.Describe(wrong, slot.GetWeightAddress, slot.GetElementCount));
        Assert.Contains("onnx::2 has 4059 elements in the graph but its device buffer holds 4100", ex.Message);
    }

    public void Dispose()
    {
        _patcher?.Dispose();
        _stream?.Dispose();
        _context?.Dispose();
    }

    private DeviceDeltaTier<TestTask> Tier(long budget) => new(_patcher, budget, task => task.Name, task => task.Patches);

    /// <summary>What CudaBackend's swap does: acquire the new task (held), switch, release the old one.</summary>
    private void Switch(DeviceDeltaTier<TestTask> tier, DeviceSlot slot, TestTask? from, TestTask? to)
    {
        var target = to is null ? null : tier.AcquireHeld(to);
        _patcher.Switch(slot, target);
        if (from is not null)
        {
            tier.Release(from);
        }
    }

    private void AssertSlotHolds(DeviceSlot slot, TestTask? task)
    {
        for (var t = 0; t < Lengths.Length; t++)
        {
            var expected = _pristine[t].ToArray();
            if (task is not null)
            {
                var (mask, values) = task.Tensors[t];
                var rank = 0;
                for (var i = 0; i < expected.Length; i++)
                {
                    if ((mask[i >> 3] & (1 << (i & 7))) != 0)
                    {
                        expected[i] = values[rank++];
                    }
                }
            }

            var actual = new float[expected.Length];
            _patcher.CopyToHost(slot, t, actual);
            Assert.Equal(expected, actual);
        }
    }

    private TestTask Task(string name, double density)
    {
        var tensors = new (byte[] Mask, float[] Values)[Lengths.Length];
        for (var t = 0; t < Lengths.Length; t++)
        {
            var n = Lengths[t];
            var mask = new byte[(n + 7) / 8];
            var values = new List<float>();
            for (var i = 0; i < n; i++)
            {
                if (_random.NextDouble() < density)
                {
                    mask[i >> 3] |= (byte)(1 << (i & 7));
                    values.Add(100 + (float)_random.NextDouble());
                }
            }

            tensors[t] = (mask, values.ToArray());
        }

        return new TestTask(name, tensors);
    }

    private sealed class TestTask(string name, (byte[] Mask, float[] Values)[] tensors)
    {
        public string Name { get; } = name;

        public (byte[] Mask, float[] Values)[] Tensors { get; } = tensors;

        public IReadOnlyList<TensorPatch> Patches => Tensors.Select((p, t) => TensorPatch.FromSingles(t, p.Mask, p.Values)).ToArray();
    }
}
