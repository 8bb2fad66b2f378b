namespace Ken.Server.Security;

/// <summary>A tenant token called a task outside its patterns (PERMISSION_DENIED).</summary>
public sealed class TaskNotPermittedException : Exception
{
    public TaskNotPermittedException()
        : base("this tenant token may not call that task.")
    {
    }

    public TaskNotPermittedException(string message)
        : base(message)
    {
    }

    public TaskNotPermittedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public static TaskNotPermittedException For(TenantGrant grant, string task)
    {
        ArgumentNullException.ThrowIfNull(grant);
        return new TaskNotPermittedException(
            $"tenant '{grant.Name}' may not call task '{task}'; its token allows {string.Join(", ", grant.Tasks.Select(p => p.Text))}. Ask the operator to add the task to its patterns in --tenant-tokens.");
    }
}
