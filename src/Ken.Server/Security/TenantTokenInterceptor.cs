using Grpc.Core;
using Grpc.Core.Interceptors;

using Ken.V1;

namespace Ken.Server.Security;

/// <summary>
/// With <c>--tenant-tokens</c>: requires <c>authorization: Bearer &lt;tenant token&gt;</c> on every Inference
/// call and that the token's patterns cover the request's task. Throws <see cref="TenantTokenMissingException"/>,
/// <see cref="TenantTokenRejectedException"/> (both UNAUTHENTICATED) or <see cref="TaskNotPermittedException"/>
/// (PERMISSION_DENIED), which <see cref="Api.ErrorMappingInterceptor"/> turns into statuses. Registry calls are
/// the <see cref="AdminTokenInterceptor"/>'s; health and reflection stay open.
/// </summary>
public sealed class TenantTokenInterceptor : Interceptor
{
    private const string InferencePrefix = "/ken.v1.Inference/";
    private const string Scheme = "Bearer ";
    private readonly TenantTokens _tokens;

    public TenantTokenInterceptor(TenantTokens tokens) => _tokens = tokens;

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Method.StartsWith(InferencePrefix, StringComparison.Ordinal))
        {
            Check(context, TaskOf(request));
        }

        return continuation(request, context);
    }

    private static string TaskOf<TRequest>(TRequest request) => request switch
    {
        ClassifyRequest classify => classify.Task,
        EmbedRequest embed => embed.Task,

        // Fail closed: a new Inference method must say which task it calls before tenants may use it.
        _ => throw new InvalidOperationException($"TenantTokenInterceptor does not know the task of a {typeof(TRequest).Name}."),
    };

    private void Check(ServerCallContext context, string task)
    {
        var header = context.RequestHeaders.GetValue("authorization");
        if (string.IsNullOrEmpty(header))
        {
            throw new TenantTokenMissingException();
        }

        var grant = header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) ? _tokens.Find(header[Scheme.Length..].Trim()) : null;
        if (grant is null)
        {
            throw new TenantTokenRejectedException();
        }

        if (!grant.Allows(task))
        {
            throw TaskNotPermittedException.For(grant, task);
        }
    }
}
