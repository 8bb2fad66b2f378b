namespace Ken.Server.Security;

/// <summary>One tenant token's permission: the task name patterns it may call.</summary>
public sealed class TenantGrant
{
    public TenantGrant(string name, IReadOnlyList<TaskPattern> tasks)
    {
        Name = name;
        Tasks = tasks;
    }

    /// <summary>The tenant's name from the file (for logs and messages; never the token).</summary>
    public string Name { get; }

    public IReadOnlyList<TaskPattern> Tasks { get; }

    public bool Allows(string task) => Tasks.Any(pattern => pattern.Matches(task));
}
