namespace Ken.Server.Tests.Serving;

/// <summary>A count that tests await reaching a value, instead of polling it with delays.</summary>
public sealed class CountSignal
{
    private readonly Lock _gate = new();
    private readonly List<(int Target, TaskCompletionSource Done)> _waiters = [];
    private int _value;

    public int Value
    {
        get
        {
            lock (_gate)
            {
                return _value;
            }
        }
    }

    public void Increment()
    {
        lock (_gate)
        {
            Set(_value + 1);
        }
    }

    /// <summary>Records the count's new value (e.g. from an event that reports it).</summary>
    public void Set(int value)
    {
        lock (_gate)
        {
            _value = value;
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_value >= _waiters[i].Target)
                {
                    _waiters[i].Done.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    /// <summary>Completes once the count is at least <paramref name="target"/>; fails the test after 30 s.</summary>
    public Task WhenAtLeast(int target)
    {
        lock (_gate)
        {
            if (_value >= target)
            {
                return Task.CompletedTask;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((target, done));
            return done.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        }
    }
}
