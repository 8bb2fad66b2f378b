namespace Ken.Cli.Terminal;

/// <summary>How a <see cref="ProgressBar"/> shows progress.</summary>
internal enum ProgressStyle
{
    /// <summary>Nothing (standard error is not the writer).</summary>
    None,

    /// <summary>A bar redrawn in place (standard error is a terminal).</summary>
    Bar,

    /// <summary>A plain line now and then (standard error is redirected).</summary>
    Lines,
}
