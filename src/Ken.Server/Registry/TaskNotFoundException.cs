using Ken.Format;

namespace Ken.Server.Registry;

/// <summary>The named task is not registered (NOT_FOUND).</summary>
public sealed class TaskNotFoundException : KenException
{
    public TaskNotFoundException()
    {
    }

    public TaskNotFoundException(string message)
        : base(message)
    {
    }

    public TaskNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public static TaskNotFoundException For(string name) =>
        new($"task \"{name}\" is not registered on this server; register it with `ken register` (Registry.RegisterTask) or list tasks with Registry.ListTasks.");
}
