namespace Ken.Format;

/// <summary>
/// An error caused by the user's input (a file, a flag, a model), whose message says what is wrong
/// and what to do. Command-line tools print only the message; servers map it to a status code.
/// </summary>
public class KenException : Exception
{
    public KenException()
    {
    }

    public KenException(string message)
        : base(message)
    {
    }

    public KenException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
