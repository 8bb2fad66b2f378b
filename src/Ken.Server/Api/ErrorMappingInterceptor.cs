using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Ken.Server.Api;

/// <summary>Turns exceptions from any service into the statuses of <see cref="RpcErrors"/> and logs unexpected ones.</summary>
public sealed class ErrorMappingInterceptor : Interceptor
{
    private readonly ILogger<ErrorMappingInterceptor> _logger;

    public ErrorMappingInterceptor(ILogger<ErrorMappingInterceptor> logger) => _logger = logger;

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw Map(ex, context);
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw Map(ex, context);
        }
    }

    private RpcException Map(Exception ex, ServerCallContext context)
    {
        var mapped = RpcErrors.Map(ex, context);
        if (mapped.StatusCode == StatusCode.Internal)
        {
            _logger.LogError(ex, "Unexpected error in {Method}", context.Method);
        }

        return mapped;
    }
}
