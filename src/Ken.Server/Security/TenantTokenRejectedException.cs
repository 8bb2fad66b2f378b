namespace Ken.Server.Security;

/// <summary>An inference call came with a token that is not in the --tenant-tokens file (UNAUTHENTICATED).</summary>
public sealed class TenantTokenRejectedException : Exception
{
    public TenantTokenRejectedException()
        : base("the tenant token is not known to this server; use a token from its --tenant-tokens file (the registry's admin token does not serve inference).")
    {
    }

    public TenantTokenRejectedException(string message)
        : base(message)
    {
    }

    public TenantTokenRejectedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
