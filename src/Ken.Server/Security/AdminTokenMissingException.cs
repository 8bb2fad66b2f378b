namespace Ken.Server.Security;

/// <summary>A registry call came without an admin token (UNAUTHENTICATED).</summary>
public sealed class AdminTokenMissingException : Exception
{
    public AdminTokenMissingException()
        : base("registry calls need an admin token: send 'authorization: Bearer <token>' (the token is in <data-dir>/admin.token or set with --admin-token).")
    {
    }

    public AdminTokenMissingException(string message)
        : base(message)
    {
    }

    public AdminTokenMissingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
