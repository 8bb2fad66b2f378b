using System.Diagnostics;
using Ken.Cuda.Driver;
using Ken.Cuda.Patching;
using Ken.Format;
using Ken.Format.Deltas;
using Ken.Runtime.Backbone;
using Microsoft.ML.OnnxRuntime;

namespace Ken.Runtime.Backends.Cuda;

/// <summary>
/// The backbone on a GPU: one ONNX Runtime session with the CUDA execution provider over the promoted graph,
/// the pristine weights and every slot's weight buffers in device memory, each slot bound once over its device
/// addresses. A swap is one patch-kernel launch (<see cref="DevicePatcher.Switch"/>) queued on the stream the
/// session computes on, so it runs after the slot's previous run and before its next with no host wait; task
/// deltas live in a device tier within <see cref="CudaOptions.DeltaBudgetBytes"/> above the host tier.
/// </summary>
/// <remarks>
/// The scheduler's <see cref="SlotLease"/> guarantees that a slot is never swapped while it runs: a run returns
/// only after ONNX Runtime copied its outputs to the host, which waits for the run on the stream.
/// </remarks>
public sealed class CudaBackend : SlottedBackend<CudaTask>, IDeviceDeltaTier
{
    private readonly PromotedEncoder _encoder;
    private readonly PrimaryContext _context;
    private readonly CudaStream _stream;
    private readonly DeltaBinder _binder;
    private readonly OrtMemoryInfo _deviceMemory;
    private readonly DevicePatcher _patcher;
    private readonly DeviceSlot[] _deviceSlots;
    private readonly DeviceWeightBinding[] _slotWeights;
    private readonly DeviceDeltaTier<CudaTask> _tier;

    private CudaBackend(BackboneOptions options, CudaOptions cuda, PrimaryContext context, CudaStream stream, PromotedEncoder encoder)
        : base(options.Name ?? options.ModelPath, encoder.Pipeline, options.SlotCountFor(encoder.Pristine.TotalBytes))
    {
        _encoder = encoder;
        _context = context;
        _stream = stream;
        _binder = new DeltaBinder(encoder.TensorsByName, Pipeline.HiddenSize, Pipeline.HasPoolerOutput, BaseModel);
        _deviceMemory = new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, cuda.DeviceOrdinal, OrtMemType.Default);
        _deviceSlots = new DeviceSlot[SlotCount];
        _slotWeights = new DeviceWeightBinding[SlotCount];
        var pristine = new ReadOnlyMemory<float>[encoder.Tensors.Length];
        for (var i = 0; i < pristine.Length; i++)
        {
            pristine[i] = encoder.Pristine.Tensor(i).ToArray();
        }

        _patcher = new DevicePatcher(context, stream, pristine, new DevicePatcherOptions { StagingBytes = cuda.StagingBytes });
        try
        {
            for (var i = 0; i < SlotCount; i++)
            {
                _deviceSlots[i] = _patcher.CreateSlot();
                _slotWeights[i] = new DeviceWeightBinding(encoder.Tensors, _deviceSlots[i], _deviceMemory);
                var binding = encoder.Session.CreateIoBinding();
                ReplaceBinding(i, binding);
                _slotWeights[i].BindTo(binding);
            }

            // The slots' base weights are queued copies; ONNX Runtime must not read them before they land.
            stream.Synchronize();
        }
        catch
        {
            foreach (var weights in _slotWeights)
            {
                weights?.Dispose();
            }

            _patcher.Dispose();
            _deviceMemory.Dispose();
            throw;
        }

        _tier = new DeviceDeltaTier<CudaTask>(_patcher, cuda.DeltaBudgetBytes, task => task.Name, task => task.ToTensorPatches());
        DeviceName = context.DeviceName;
    }

    public override long SlotBytes => _patcher.SlotBytes;

    /// <summary>The GPU's name, e.g. <c>NVIDIA H200</c>.</summary>
    public string DeviceName { get; }

    public long DeviceDeltaBytes => _tier.Bytes;

    public int DeviceDeltaCount => _tier.Count;

    /// <summary>Deltas uploaded to the device on a miss, and evicted from it.</summary>
    public (long Uploads, long Evictions) DeviceDeltaTraffic => (_tier.Uploads, _tier.Evictions);

    /// <summary>
    /// Loads the backbone onto CUDA device <see cref="CudaOptions.DeviceOrdinal"/>. Throws
    /// <see cref="CudaUnavailableException"/> (one line: what is missing, what to do) when the driver, the
    /// device or ONNX Runtime's CUDA provider cannot be used.
    /// </summary>
    public static CudaBackend Load(BackboneOptions options, CudaOptions cuda)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(cuda);
        var context = PrimaryContext.Retain(cuda.DeviceOrdinal);
        CudaStream? stream = null;
        try
        {
            stream = CudaStream.Create(context);
            var handle = stream.Handle;
            var created = stream;
            return PromotedEncoder.LoadBackend(
                options,
                session => AddCudaProvider(session, cuda, handle),
                encoder => new CudaBackend(options, cuda, context, created, encoder));
        }
        catch (OnnxRuntimeException ex) when (IsCudaStartFailure(ex))
        {
            stream?.Dispose();
            context.Dispose();
            throw new CudaUnavailableException(CudaProviderFailure.Describe(ex), ex);
        }
        catch
        {
            stream?.Dispose();
            context.Dispose();
            throw;
        }
    }

    public void PinOnDevice(string name, bool pinned) => _tier.Pin(name, pinned);

    /// <summary>Copies tensor <paramref name="tensor"/> of slot <paramref name="slot"/> from the device (tests and checks).</summary>
    internal float[] CopySlotTensor(int slot, int tensor)
    {
        SlotAt(slot);
        var values = new float[_deviceSlots[slot].GetElementCount(tensor)];
        _patcher.CopyToHost(_deviceSlots[slot], tensor, values);
        return values;
    }

    protected override CudaTask BindCore(KenDelta delta)
    {
        var bound = _binder.Bind(delta);
        return new CudaTask(bound.Spec, bound.Patches, bound.HeadBytes, task => _tier.IsResident(task));
    }

    protected override SwapStats SwapCore(SlotLease lease, CudaTask? old, CudaTask? task)
    {
        var slot = _deviceSlots[lease.Index];
        var start = Stopwatch.GetTimestamp();
        DeviceTask? target;
        try
        {
            target = task is null ? null : _tier.AcquireHeld(task);
        }
        catch (Exception ex) when (ex is CudaException or ArgumentException)
        {
            // The slot still holds the old task whole, but a failed swap leaves the base, as the CPU backend does.
            lease.Hold(null);
            string state;
            try
            {
                _patcher.Switch(slot, null);
                state = "the slot is back on the base weights";
            }
            catch (Exception restore) when (restore is CudaException or InvalidOperationException)
            {
                state = ResetToBase(slot);
            }

            if (old is not null)
            {
                _tier.Release(old);
            }

            throw new DeviceSwapException($"uploading task '{task!.Name}' to {DeviceName} failed ({ex.Message}); {state}", ex is CudaException { ResultName: "CUDA_ERROR_OUT_OF_MEMORY" }, ex);
        }

        var uploaded = Stopwatch.GetTimestamp();
        lease.Hold(null);
        try
        {
            _patcher.Switch(slot, target);
        }
        catch (Exception ex) when (ex is CudaException or InvalidOperationException)
        {
            var state = ResetToBase(slot);
            if (task is not null)
            {
                _tier.Release(task);
            }

            if (old is not null)
            {
                _tier.Release(old);
            }

            throw new DeviceSwapException($"switching slot {lease.Index} on {DeviceName} to task '{task?.Name ?? "base"}' failed ({ex.Message}); {state}", ex);
        }

        if (old is not null)
        {
            _tier.Release(old);
        }

        lease.Hold(task);
        return new SwapStats(
            Stopwatch.GetElapsedTime(start, uploaded),
            Stopwatch.GetElapsedTime(uploaded),
            old?.Patches.ValueCount ?? 0,
            task?.Patches.ValueCount ?? 0);
    }

    protected override InferenceSession SessionOf(int slot) => _encoder.Session;

    protected override void Dispose(bool disposing)
    {
        if (IsDisposed)
        {
            return;
        }

        base.Dispose(disposing);
        if (disposing)
        {
            foreach (var weights in _slotWeights)
            {
                weights.Dispose();
            }

            _patcher.Dispose();
            _encoder.Dispose();
            _deviceMemory.Dispose();
            _stream.Dispose();
            _context.Dispose();
        }
    }

    private static void AddCudaProvider(SessionOptions session, CudaOptions cuda, nint stream)
    {
        try
        {
            CudaSessionSetup.Apply(session, cuda, stream);
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
        {
            throw new CudaUnavailableException(CudaProviderFailure.Describe(ex), ex);
        }
    }

    private static bool IsCudaStartFailure(OnnxRuntimeException ex) =>
        ex.Message.Contains("CUDA", StringComparison.OrdinalIgnoreCase) || ex.Message.Contains("CPU EP", StringComparison.OrdinalIgnoreCase);

    /// <summary>Puts the base weights back into a slot after a failed switch; says what the slot holds now.</summary>
    private string ResetToBase(DeviceSlot slot)
    {
        try
        {
            _patcher.Reset(slot);
            return "the slot was reset to the base weights";
        }
        catch (CudaException reset)
        {
            return $"resetting the slot failed too ({reset.Message}); restart the server";
        }
    }
}
