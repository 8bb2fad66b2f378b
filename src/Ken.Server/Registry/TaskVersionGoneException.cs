namespace Ken.Server.Registry;

/// <summary>
/// A request was admitted for a version of a task that another replica replaced or unregistered in the
/// shared registry before this replica had its delta in memory (UNAVAILABLE: a retry gets the current version).
/// </summary>
public sealed class TaskVersionGoneException : Exception
{
    public TaskVersionGoneException()
    {
    }

    public TaskVersionGoneException(string message)
        : base(message)
    {
    }

    public TaskVersionGoneException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public static TaskVersionGoneException For(string name) =>
        new($"task \"{name}\" was replaced or unregistered through another replica while this request waited; retry (the retry is served by the current version, or gets NOT_FOUND).");
}
