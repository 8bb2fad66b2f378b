namespace Ken.Server.Hosting;

/// <summary>How a slot switches tasks (<c>--swap-mode</c>).</summary>
public enum SwapMode
{
    /// <summary>Patch the task's kept values into the slot's resident weights in place (default).</summary>
    Patch,

    /// <summary>Load a fresh session with the task's reconstructed weights on every switch (baseline).</summary>
    Reload,

    /// <summary>Keep every task in its own full weight buffers (no swaps; memory grows with tasks).</summary>
    Resident,
}
