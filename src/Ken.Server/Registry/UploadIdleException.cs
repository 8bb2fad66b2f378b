namespace Ken.Server.Registry;

/// <summary>An upload sent nothing for <c>--upload-idle-timeout-s</c> and was dropped (DEADLINE_EXCEEDED).</summary>
public sealed class UploadIdleException : Exception
{
    public UploadIdleException()
        : base("the upload stalled and was dropped; send the file without pauses and upload again.")
    {
    }

    public UploadIdleException(TimeSpan idle, Exception innerException)
        : base(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"the upload sent nothing for {idle.TotalSeconds:0.###} s (--upload-idle-timeout-s) and was dropped; nothing was kept. Send the file without pauses and upload again."), innerException)
    {
    }

    public UploadIdleException(string message)
        : base(message)
    {
    }

    public UploadIdleException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
