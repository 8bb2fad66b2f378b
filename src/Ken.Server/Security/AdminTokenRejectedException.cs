namespace Ken.Server.Security;

/// <summary>A registry call came with a wrong admin token (PERMISSION_DENIED).</summary>
public sealed class AdminTokenRejectedException : Exception
{
    public AdminTokenRejectedException()
        : base("the admin token is wrong; use the token in the server's <data-dir>/admin.token or the one it was started with (--admin-token).")
    {
    }

    public AdminTokenRejectedException(string message)
        : base(message)
    {
    }

    public AdminTokenRejectedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
