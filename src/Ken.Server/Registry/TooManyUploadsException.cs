namespace Ken.Server.Registry;

/// <summary>An upload arrived while <c>--max-concurrent-uploads</c> others were being received (RESOURCE_EXHAUSTED).</summary>
public sealed class TooManyUploadsException : Exception
{
    public TooManyUploadsException()
        : base("too many task uploads at once; retry when one has finished.")
    {
    }

    public TooManyUploadsException(int max)
        : base($"{max} task uploads are already being received, this server's limit (--max-concurrent-uploads); retry when one has finished.")
    {
    }

    public TooManyUploadsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
