namespace Ken.Format.Faults;

/// <summary>Thrown by an armed fault point whose action is <see cref="FaultAction.Throw"/> (tests only).</summary>
public sealed class InjectedFaultException : Exception
{
    public InjectedFaultException()
    {
    }

    public InjectedFaultException(string message)
        : base(message)
    {
    }

    public InjectedFaultException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
