using Ken.Format;

namespace Ken.Server.Registry;

/// <summary>A task of that name exists and the upload did not ask to overwrite it (ALREADY_EXISTS).</summary>
public sealed class TaskExistsException : KenException
{
    public TaskExistsException()
    {
    }

    public TaskExistsException(string message)
        : base(message)
    {
    }

    public TaskExistsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
