namespace Ken.Format.Faults;

/// <summary>What an armed <see cref="FaultPoints"/> point does when execution reaches it.</summary>
public enum FaultAction
{
    /// <summary>Kill the process at once (SIGKILL on Linux): no finally blocks, no flushes, as <c>kill -9</c>.</summary>
    Kill,

    /// <summary>Throw an <see cref="InjectedFaultException"/>, as an I/O or device failure would.</summary>
    Throw,
}
