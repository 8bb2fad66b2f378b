// Stage-1 check of Ken.Cuda on a real GPU: load libcuda, retain the primary context, bind MiniLM-shaped
// tasks through DevicePatcher, switch a slot through a sequence of tasks and compare every tensor with a
// host reference bit for bit, then time switches. Exit code 0 only when every comparison passes.
// Options: --small (a few small tensors instead of MiniLM, for a smoke run against the test suite's fake
// libcuda.so.1 via LD_LIBRARY_PATH), --switches N (timed switches, default 200).
using System.Diagnostics;
using Ken.Perf.Gpu;
using Ken.Cuda.Driver;
using Ken.Cuda.Patching;

var small = args.Contains("--small");
var timedSwitches = args.SkipWhile(a => a != "--switches").Skip(1).Select(int.Parse).FirstOrDefault(200);
var failures = 0;
try
{
    CudaDriver.Load();
    using var context = PrimaryContext.Retain(0);
    var (free, total) = context.GetMemoryInfo();
    Console.WriteLine($"device: {context.DeviceName}, compute capability {context.ComputeCapability / 10}.{context.ComputeCapability % 10}, " +
        $"{context.MultiprocessorCount} SMs, driver CUDA {CudaDriver.DriverVersion / 1000}.{CudaDriver.DriverVersion % 1000 / 10}, memory {free >> 20} MiB free of {total >> 20} MiB");
    using var stream = CudaStream.Create(context);

    // all-MiniLM-L6-v2's float weights.
    var lengths = new List<int> { 30522 * 384, 512 * 384, 2 * 384, 384, 384 };
    for (var layer = 0; layer < 6; layer++)
    {
        lengths.AddRange([384 * 384, 384, 384 * 384, 384, 384 * 384, 384, 384 * 384, 384, 384, 384, 1536 * 384, 1536, 384 * 1536, 384, 384, 384]);
    }

    var shapes = small ? [5, 1000, 1025, 70_001, 384 * 384] : lengths.ToArray();
    var random = new Random(20240601);
    var pristine = shapes.Select(n => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray()).ToArray();
    var clock = Stopwatch.StartNew();
    using var patcher = new DevicePatcher(context, stream, pristine.Select(p => (ReadOnlyMemory<float>)p).ToArray());
    Console.WriteLine($"backbone: {shapes.Length} tensors, {shapes.Sum(n => (long)n):N0} elements, uploaded in {clock.Elapsed.TotalMilliseconds:F0} ms");

    var a = new HostTask(random, shapes, 0.05, PatchValueType.F32);
    var b = new HostTask(random, shapes, 0.5, PatchValueType.F16);
    var c = new HostTask(random, shapes, 0.25, PatchValueType.BF16, t => t % 2 == 0);
    clock.Restart();
    var bound = new Dictionary<HostTask, DeviceTask> { [a] = patcher.Bind(a.Patches), [b] = patcher.Bind(b.Patches), [c] = patcher.Bind(c.Patches) };
    Console.WriteLine($"bound 3 tasks in {clock.Elapsed.TotalMilliseconds:F0} ms ({bound.Values.Sum(t => t.DeviceBytes) >> 20} MiB on the device)");

    using var slot = patcher.CreateSlot();
    var expected = pristine.Select(p => p.ToArray()).ToArray();
    HostTask? holding = null;
    foreach (var (name, next) in new (string, HostTask?)[] { ("base -> A", a), ("A -> B", b), ("B -> C", c), ("C -> A", a), ("A -> base", null) })
    {
        patcher.Switch(slot, next is null ? null : bound[next]);
        for (var t = 0; t < shapes.Length; t++)
        {
            HostTask.Switch(expected[t], pristine[t], holding?.Masks[t], next?.Masks[t], next?.Decoded[t]);
        }

        holding = next;
        var bad = 0L;
        var actual = new float[shapes.Max()];
        for (var t = 0; t < shapes.Length; t++)
        {
            var span = actual.AsSpan(0, shapes[t]);
            patcher.CopyToHost(slot, t, span);
            for (var i = 0; i < span.Length; i++)
            {
                bad += BitConverter.SingleToUInt32Bits(span[i]) != BitConverter.SingleToUInt32Bits(expected[t][i]) ? 1 : 0;
            }
        }

        failures += bad > 0 ? 1 : 0;
        Console.WriteLine($"switch {name,-10} {(bad == 0 ? "PASS" : $"FAIL ({bad} elements differ)")}");
    }

    // Host-side timing: queue many switches, wait once; includes launch overhead, so it bounds the kernel time from above.
    foreach (var (name, x, y) in new[] { ("keep 0.05 <-> 0.5", a, b), ("keep 0.05 <-> base", a, (HostTask?)null) })
    {
        var switches = timedSwitches;
        patcher.Switch(slot, null);
        stream.Synchronize();
        clock.Restart();
        for (var i = 0; i < switches; i++)
        {
            var target = i % 2 == 0 ? x : y;
            patcher.Switch(slot, target is null ? null : bound[target]);
        }

        stream.Synchronize();
        Console.WriteLine($"timing {name}: {clock.Elapsed.TotalMicroseconds / switches:F1} us per switch over {switches} switches ({patcher.BlocksPerSwitch} blocks each)");
    }

    patcher.Switch(slot, null);
    var before = context.GetMemoryInfo().Free;
    patcher.Evict(bound[b]);
    Console.WriteLine($"evict B: {(context.GetMemoryInfo().Free - before) >> 20} MiB freed (task held {bound[b].DeviceBytes >> 20} MiB)");
}
catch (Exception e) when (e is CudaException or CudaUnavailableException or InvalidOperationException)
{
    Console.WriteLine($"FAIL: {e.Message}");
    failures++;
}

Console.WriteLine(failures == 0 ? "driver check: PASS" : $"driver check: FAIL ({failures})");
return failures == 0 ? 0 : 1;
