using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Ken.Server.Security;

/// <summary>
/// Requires <c>authorization: Bearer &lt;admin token&gt;</c> on every Registry call; throws
/// <see cref="AdminTokenMissingException"/> or <see cref="AdminTokenRejectedException"/>, which
/// <see cref="Api.ErrorMappingInterceptor"/> (registered outside this one) turns into statuses.
/// </summary>
public sealed class AdminTokenInterceptor : Interceptor
{
    private const string RegistryPrefix = "/ken.v1.Registry/";
    private const string Scheme = "Bearer ";
    private readonly AdminToken _token;

    public AdminTokenInterceptor(AdminToken token) => _token = token;

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, context);
    }

    private void Check(ServerCallContext context)
    {
        if (!context.Method.StartsWith(RegistryPrefix, StringComparison.Ordinal))
        {
            return;
        }

        var header = context.RequestHeaders.GetValue("authorization");
        if (string.IsNullOrEmpty(header))
        {
            throw new AdminTokenMissingException();
        }

        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) || !_token.Matches(header[Scheme.Length..].Trim()))
        {
            throw new AdminTokenRejectedException();
        }
    }
}
