namespace Ken.Cli.Terminal;

/// <summary>
/// An <see cref="IProgress{T}"/> that runs its handler on the reporting thread, in order
/// (<see cref="Progress{T}"/> would post each report to the thread pool).
/// </summary>
internal sealed class SynchronousProgress<T>(Action<T> handler) : IProgress<T>
{
    public void Report(T value) => handler(value);
}
