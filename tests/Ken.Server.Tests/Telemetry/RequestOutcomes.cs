using System.Diagnostics.Metrics;

using Ken.Server.Telemetry;

namespace Ken.Server.Tests.Telemetry;

/// <summary>
/// Listens to <c>ken_requests_total</c> in this process, so a test can await the moment the server
/// records a request's final status (e.g. one the client abandoned) instead of polling for it.
/// Meters of servers running in parallel share the name, so tests filter by a task name of their own.
/// </summary>
internal sealed class RequestOutcomes : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Lock _gate = new();
    private readonly List<(string Task, string Status)> _seen = [];
    private readonly List<(string Task, string Status, TaskCompletionSource Done)> _waiters = [];

    public RequestOutcomes()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == KenTelemetry.Name && instrument.Name == "ken_requests_total")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            string? task = null, status = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "task")
                {
                    task = tag.Value as string;
                }
                else if (tag.Key == "status")
                {
                    status = tag.Value as string;
                }
            }

            if (task is not null && status is not null)
            {
                Record(task, status);
            }
        });
        _listener.Start();
    }

    /// <summary>Completes once the server recorded a request for <paramref name="task"/> with <paramref name="status"/>; fails the test after 30 s.</summary>
    public Task WhenRecorded(string task, string status)
    {
        lock (_gate)
        {
            if (_seen.Contains((task, status)))
            {
                return Task.CompletedTask;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((task, status, done));
            return WaitAsync(done.Task, task, status);
        }
    }

    /// <summary>The statuses recorded so far for <paramref name="task"/>.</summary>
    public IReadOnlyList<string> StatusesOf(string task)
    {
        lock (_gate)
        {
            return _seen.Where(s => s.Task == task).Select(s => s.Status).ToArray();
        }
    }

    public void Dispose() => _listener.Dispose();

    private async Task WaitAsync(Task done, string task, string status)
    {
        try
        {
            await done.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"the server recorded no {status} request for {task} within 30 s; it recorded [{string.Join(", ", StatusesOf(task))}].");
        }
    }

    private void Record(string task, string status)
    {
        lock (_gate)
        {
            _seen.Add((task, status));
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Task == task && _waiters[i].Status == status)
                {
                    _waiters[i].Done.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }
}
