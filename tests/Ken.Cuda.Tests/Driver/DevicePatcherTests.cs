using Ken.Cuda.Driver;
using Ken.Cuda.Patching;
using Ken.Cuda.Tests.Support;

namespace Ken.Cuda.Tests.Driver;

/// <summary>The DevicePatcher through the real P/Invoke layer on the fake driver (host memory, host kernel).</summary>
[Collection(FakeDriverTests.Name)]
public sealed class DevicePatcherTests
{
    [Fact]
    public void Switches_between_tasks_and_back_to_base_produce_the_reference_weights()
    {
        using var h = new PatcherHarness(seed: 1);
        var a = h.Bind(TaskData.Random(h.Random, PatcherHarness.Lengths, MaskDensity.Half, PatchValueType.F32));
        var b = h.Bind(TaskData.Random(h.Random, PatcherHarness.Lengths, MaskDensity.Sparse, PatchValueType.F16));
        var slot = h.CreateSlot();
        h.AssertSlot(slot, "new slot");

        h.Switch(slot, a);
        h.AssertSlot(slot, "base -> A");
        h.Switch(slot, b);
        h.AssertSlot(slot, "A -> B");
        h.Switch(slot, a);
        h.AssertSlot(slot, "B -> A");
        h.Switch(slot, null);
        h.AssertSlot(slot, "A -> base");
        Assert.Null(slot.Task);
    }

    [Fact]
    public void Tasks_that_patch_some_tensors_in_bf16_switch_correctly_in_two_slots()
    {
        using var h = new PatcherHarness(seed: 2);
        var a = h.Bind(TaskData.Random(h.Random, PatcherHarness.Lengths, MaskDensity.Full, PatchValueType.BF16, patched: t => t % 2 == 0));
        var b = h.Bind(TaskData.Random(h.Random, PatcherHarness.Lengths, MaskDensity.OneBit, PatchValueType.F32, patched: t => t % 3 == 0));
        var first = h.CreateSlot();
        var second = h.CreateSlot();

        h.Switch(first, a);
        h.Switch(second, b);
        h.Switch(first, b);
        h.Switch(second, a);

        h.AssertSlot(first, "first: base -> A -> B");
        h.AssertSlot(second, "second: base -> B -> A");
        Assert.Equal(1, h.Tasks.Keys.Single(t => ReferenceEquals(t, a)).HolderCount);
    }

    [Fact]
    public void A_switch_is_one_launch_on_the_patcher_stream_with_no_copy_and_no_synchronization()
    {
        using var h = new PatcherHarness(seed: 3);
        var a = h.Bind(TaskData.Random(h.Random, PatcherHarness.Lengths, MaskDensity.Half, PatchValueType.F32));
        var slot = h.CreateSlot();
        h.Stream.Synchronize();
        FakeDriver.ClearLog();

        h.Switch(slot, a);

        var calls = FakeDriver.Calls;
        Assert.Equal(1, calls.Count(c => c == "cuLaunchKernel"));
        Assert.All(calls, c => Assert.Contains(c, new[] { "cuCtxGetCurrent", "cuCtxSetCurrent", "cuLaunchKernel" }));
        var launch = FakeDriver.LogLines.Single(l => l.StartsWith("cuLaunchKernel", StringComparison.Ordinal));
        Assert.EndsWith($"block=256 S{h.Stream.Handle}", launch, StringComparison.Ordinal);
        Assert.Equal(1, FakeDriver.PendingOperations); // queued, not run: the host did not wait
        h.AssertSlot(slot, "after the queued switch ran");
    }

    [Fact]
    public void Binding_uploads_through_pinned_staging_and_waits_before_reusing_it()
    {
        // The fake runs queued copies only at synchronization and requires pinned sources; a staging buffer
        // refilled before the copy that reads it ran would upload the wrong bytes and fail the comparison.
        using var h = new PatcherHarness(seed: 4, stagingBytes: 4096);
        FakeDriver.ClearLog();

        var a = h.Bind(TaskData.Random(h.Random, PatcherHarness.Lengths, MaskDensity.Half, PatchValueType.F32));

        var calls = FakeDriver.Calls;
        var copies = calls.Count(c => c == "cuMemcpyHtoDAsync_v2");
        Assert.True(copies > 10, $"expected many 4 KiB rounds, saw {copies}");
        for (var i = 0; i < calls.Length; i++)
        {
            if (calls[i] == "cuMemcpyHtoDAsync_v2")
            {
                Assert.Equal("cuStreamSynchronize", calls.Skip(i + 1).First(c => c is "cuMemcpyHtoDAsync_v2" or "cuStreamSynchronize"));
            }
        }

        var slot = h.CreateSlot();
        h.Switch(slot, a);
        h.AssertSlot(slot, "after a many-round bind");
    }

    [Fact]
    public void Eviction_waits_for_the_stream_frees_the_task_and_is_refused_while_a_slot_holds_it()
    {
        using var h = new PatcherHarness(seed: 5);
        var a = h.Bind(TaskData.Random(h.Random, PatcherHarness.Lengths, MaskDensity.Half, PatchValueType.F32));
        var b = h.Bind(TaskData.Random(h.Random, PatcherHarness.Lengths, MaskDensity.Half, PatchValueType.F16));
        var slot = h.CreateSlot();
        h.Switch(slot, a);

        var refused = Assert.Throws<InvalidOperationException>(() => h.Patcher.Evict(a));
        Assert.Contains("held by 1 slot", refused.Message, StringComparison.Ordinal);

        h.Switch(slot, b); // queued: it still reads A's masks on the device
        var before = FakeDriver.LiveAllocations(FakeDriver.DeviceMemory);
        FakeDriver.ClearLog();
        h.Patcher.Evict(a);

        var calls = FakeDriver.Calls;
        Assert.True(Array.IndexOf(calls, "cuStreamSynchronize") < Array.IndexOf(calls, "cuMemFree_v2"), string.Join(", ", calls));
        Assert.Equal(before - 1, FakeDriver.LiveAllocations(FakeDriver.DeviceMemory));
        Assert.True(a.IsEvicted);
        h.AssertSlot(slot, "A -> B, then A evicted");
        Assert.Throws<InvalidOperationException>(() => h.Patcher.Switch(slot, a));
        h.Switch(slot, null);
        h.AssertSlot(slot, "B -> base after evicting A");
    }

    [Fact]
    public void A_refused_launch_throws_with_the_result_name_faults_the_slot_and_reset_restores_base()
    {
        using var h = new PatcherHarness(seed: 6);
        var a = h.Bind(TaskData.Random(h.Random, PatcherHarness.Lengths, MaskDensity.Half, PatchValueType.F32));
        var b = h.Bind(TaskData.Random(h.Random, PatcherHarness.Lengths, MaskDensity.Sparse, PatchValueType.F32));
        var slot = h.CreateSlot();
        h.Switch(slot, a);
        FakeDriver.FailNext("cuLaunchKernel", 719);

        var error = Assert.Throws<CudaException>(() => h.Patcher.Switch(slot, b));

        Assert.Equal("CUDA_ERROR_LAUNCH_FAILED", error.ResultName);
        Assert.Equal("cuLaunchKernel", error.Call);
        Assert.True(slot.IsFaulted);
        Assert.Null(slot.Task);
        Assert.Equal(0, a.HolderCount);
        Assert.Equal(0, b.HolderCount);
        Assert.Throws<InvalidOperationException>(() => h.Patcher.Switch(slot, b));

        h.Patcher.Reset(slot);
        h.ResetModel(slot);
        Assert.False(slot.IsFaulted);
        h.AssertSlot(slot, "after reset");
        h.Switch(slot, b);
        h.AssertSlot(slot, "base -> B after the reset");
    }

    [Fact]
    public void A_failed_bind_frees_what_it_allocated_and_leaves_the_patcher_usable()
    {
        using var h = new PatcherHarness(seed: 7);
        var data = TaskData.Random(h.Random, PatcherHarness.Lengths, MaskDensity.Half, PatchValueType.F32);
        var device = FakeDriver.LiveAllocations(FakeDriver.DeviceMemory);
        FakeDriver.FailNext("cuMemcpyHtoDAsync_v2", 1);

        var error = Assert.Throws<CudaException>(() => h.Bind(data));

        Assert.Equal("CUDA_ERROR_INVALID_VALUE", error.ResultName);
        Assert.Equal(device, FakeDriver.LiveAllocations(FakeDriver.DeviceMemory));
        var slot = h.CreateSlot();
        h.Switch(slot, h.Bind(data));
        h.AssertSlot(slot, "bind after a failed bind");
    }

    [Fact]
    public void Patches_that_do_not_fit_the_backbone_are_refused_before_any_allocation()
    {
        using var h = new PatcherHarness(seed: 8);
        var device = FakeDriver.LiveAllocations(FakeDriver.DeviceMemory);
        var mask = new byte[(PatcherHarness.Lengths[0] + 7) / 8];
        mask[0] = 0b1;

        Assert.Contains("tensors 0 to 6", Refused([new TensorPatch(7, mask, new byte[4], PatchValueType.F32)]), StringComparison.Ordinal);
        Assert.Contains("needs 1 bytes, not 2", Refused([new TensorPatch(0, new byte[2], Array.Empty<byte>(), PatchValueType.F32)]), StringComparison.Ordinal);
        Assert.Contains("beyond the tensor's last element", Refused([new TensorPatch(0, new byte[] { 0b10_0000 }, new byte[4], PatchValueType.F32)]), StringComparison.Ordinal);
        Assert.Contains("keeps 1 positions", Refused([new TensorPatch(0, mask, new byte[8], PatchValueType.F32)]), StringComparison.Ordinal);
        Assert.Contains("patched twice", Refused([new TensorPatch(0, mask, new byte[2], PatchValueType.F16), new TensorPatch(0, mask, new byte[2], PatchValueType.F16)]), StringComparison.Ordinal);
        Assert.Equal(device, FakeDriver.LiveAllocations(FakeDriver.DeviceMemory));

        string Refused(TensorPatch[] patches) => Assert.Throws<ArgumentException>(() => h.Patcher.Bind(patches)).Message;
    }

    [Fact]
    public void Calls_from_a_thread_without_a_current_context_make_it_current_first()
    {
        using var h = new PatcherHarness(seed: 9);
        var a = h.Bind(TaskData.Random(h.Random, PatcherHarness.Lengths, MaskDensity.Sparse, PatchValueType.F32));
        var slot = h.CreateSlot();
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                h.Switch(slot, a);
                h.AssertSlot(slot, "switched from another thread");
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();

        Assert.Null(failure);
    }

    [Fact]
    public void Disposing_slots_and_the_patcher_frees_every_allocation()
    {
        var h = new PatcherHarness(seed: 10);
        var a = h.Bind(TaskData.Random(h.Random, PatcherHarness.Lengths, MaskDensity.Half, PatchValueType.F32));
        var slot = h.CreateSlot();
        var kept = h.CreateSlot();
        h.Switch(slot, a);
        h.Switch(kept, a);

        slot.Dispose();
        Assert.Equal(1, a.HolderCount);
        h.Dispose();

        Assert.Equal(h.AllocationsBefore, (FakeDriver.LiveAllocations(FakeDriver.DeviceMemory), FakeDriver.LiveAllocations(FakeDriver.PinnedMemory)));
        Assert.Equal(0, FakeDriver.PendingOperations);
        Assert.Equal(string.Empty, FakeDriver.LastError);
    }
}
