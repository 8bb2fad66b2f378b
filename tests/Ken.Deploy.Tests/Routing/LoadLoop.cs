using Ken.Client;

namespace Ken.Deploy.Tests.Routing;

/// <summary>Classifies the tasks in turn, one request in flight, until stopped; any failed call fails the run.</summary>
internal sealed class LoadLoop(KenClient client, IReadOnlyList<string> tasks)
{
    private readonly List<(int Mark, TaskCompletionSource Reached)> marks = [];
    private int succeeded;

    public int Succeeded => Volatile.Read(ref succeeded);

    /// <summary>Completes once <see cref="Succeeded"/> reaches <paramref name="mark"/>.</summary>
    public Task ReachedAsync(int mark)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (marks)
        {
            if (succeeded >= mark)
            {
                return Task.CompletedTask;
            }

            marks.Add((mark, reached));
        }

        return reached.Task;
    }

    public async Task RunAsync(CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                string task = tasks[succeeded % tasks.Count];
                await client.ClassifyAsync(task, [$"load on {task}"], cancellationToken: stop);
                lock (marks)
                {
                    succeeded++;
                    foreach (var (mark, reached) in marks.Where(m => m.Mark <= succeeded))
                    {
                        reached.TrySetResult();
                    }
                }
            }
        }
        catch (Exception e) when (stop.IsCancellationRequested && e is OperationCanceledException or Grpc.Core.RpcException { StatusCode: Grpc.Core.StatusCode.Cancelled })
        {
            // Stopped.
        }
        catch (Exception e)
        {
            lock (marks)
            {
                foreach (var (_, reached) in marks)
                {
                    reached.TrySetException(new InvalidOperationException($"a call failed after {succeeded} successes", e));
                }
            }

            throw;
        }
    }
}
