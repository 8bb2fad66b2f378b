namespace Ken.Server.Security;

/// <summary>An inference call came without a tenant token while --tenant-tokens is on (UNAUTHENTICATED).</summary>
public sealed class TenantTokenMissingException : Exception
{
    public TenantTokenMissingException()
        : base("inference calls need a tenant token on this server: send 'authorization: Bearer <token>' with a token from the server's --tenant-tokens file (the ken CLI: --inference-token).")
    {
    }

    public TenantTokenMissingException(string message)
        : base(message)
    {
    }

    public TenantTokenMissingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
