using Ken.Format;

namespace Ken.Runtime.Tasks;

/// <summary>
/// A delta that was built for another base model (fingerprint, tensor name or shape differs);
/// the server answers FAILED_PRECONDITION.
/// </summary>
public sealed class DeltaMismatchException : KenException
{
    public DeltaMismatchException()
    {
    }

    public DeltaMismatchException(string message)
        : base(message)
    {
    }

    public DeltaMismatchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
