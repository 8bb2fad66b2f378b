using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Ken.Server.Telemetry;

/// <summary>
/// The server's metrics (all named <c>ken_*</c>). Gauges read their values through callbacks
/// registered by the registry and the scheduler, so nothing is counted twice.
/// </summary>
public sealed class KenMetrics : IDisposable
{
    // Swaps take microseconds to milliseconds and requests milliseconds to seconds; the SDK default buckets start at 5.
    private static readonly InstrumentAdvice<double> SecondsBuckets = new()
    {
        HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 5, 10],
    };

    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _requestDuration;
    private readonly Histogram<double> _queueWait;
    private readonly Histogram<long> _batchSize;
    private readonly Counter<long> _swaps;
    private readonly Histogram<double> _swapDuration;
    private readonly Counter<long> _slotHits;
    private readonly Counter<long> _shed;

    public KenMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(KenTelemetry.Name);
        _requests = _meter.CreateCounter<long>("ken_requests_total", description: "Inference requests by task and final gRPC status.");
        _requestDuration = _meter.CreateHistogram<double>("ken_request_duration_seconds", unit: "s", description: "Time from admission to reply.", advice: SecondsBuckets);
        _queueWait = _meter.CreateHistogram<double>("ken_queue_wait_seconds", unit: "s", description: "Time a request waited in its task queue.", advice: SecondsBuckets);
        _batchSize = _meter.CreateHistogram<long>("ken_batch_size", description: "Texts per batch run on a slot.", advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256] });
        _swaps = _meter.CreateCounter<long>("ken_swaps_total", description: "Task swaps into slots.");
        _swapDuration = _meter.CreateHistogram<double>("ken_swap_duration_seconds", unit: "s", description: "Time per swap (restore + apply).", advice: SecondsBuckets);
        _slotHits = _meter.CreateCounter<long>("ken_slot_hits_total", description: "Batches served by a slot that already held their task.");
        _shed = _meter.CreateCounter<long>("ken_shed_total", description: "Requests refused as overloaded (RESOURCE_EXHAUSTED), by reason: queue_full, estimated_wait, waited.");
    }

    /// <summary>Feeds <c>ken_tasks{tier}</c> and <c>ken_resident_bytes{tier}</c>.</summary>
    public void ObserveTiers(Func<IEnumerable<Measurement<int>>> tasks, Func<IEnumerable<Measurement<long>>> bytes)
    {
        _meter.CreateObservableGauge("ken_tasks", tasks, description: "Registered tasks by residency tier (disk, host, device, slot).");
        _meter.CreateObservableGauge("ken_resident_bytes", bytes, description: "Bytes resident by tier (host: bound deltas; device: deltas in GPU memory; slot: weight slots).");
    }

    /// <summary>Feeds <c>ken_task_resident{task,tier}</c>: 1 for each registered task, in the tier it is in now.</summary>
    public void ObserveTaskResidency(Func<IEnumerable<Measurement<int>>> tasks) =>
        _meter.CreateObservableGauge("ken_task_resident", tasks, description: "1 for each registered task in the tier it is in now (slot, device, host, disk), for task-affine routing.");

    /// <summary>Feeds <c>ken_queue_depth</c>.</summary>
    public void ObserveQueueDepth(Func<int> depth) =>
        _meter.CreateObservableGauge("ken_queue_depth", depth, description: "Requests waiting in all task queues.");

    public void Request(string task, string status, double seconds)
    {
        var tags = new TagList { { "task", task }, { "status", status } };
        _requests.Add(1, tags);
        _requestDuration.Record(seconds, new KeyValuePair<string, object?>("task", task));
    }

    public void QueueWait(string task, double seconds) => _queueWait.Record(seconds, new KeyValuePair<string, object?>("task", task));

    public void Batch(string task, int texts) => _batchSize.Record(texts, new KeyValuePair<string, object?>("task", task));

    public void Swap(string task, double seconds)
    {
        _swaps.Add(1, new KeyValuePair<string, object?>("task", task));
        _swapDuration.Record(seconds, new KeyValuePair<string, object?>("task", task));
    }

    public void SlotHit(string task) => _slotHits.Add(1, new KeyValuePair<string, object?>("task", task));

    public void Shed(string reason) => _shed.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void Dispose() => _meter.Dispose();
}
