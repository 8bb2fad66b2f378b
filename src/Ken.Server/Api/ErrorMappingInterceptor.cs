using Grpc.Core;
using Grpc.Core.Interceptors;

using Ken.Format;
using Ken.Runtime.Backends.Cuda;
using Ken.Runtime.Tasks;
using Ken.Server.Registry;
using Ken.Server.Scheduling;
using Ken.Server.Security;
using Ken.Server.Telemetry;

namespace Ken.Server.Api;

/// <summary>
/// The one place where exceptions become gRPC statuses, for every service: services and the other
/// interceptors throw domain exceptions, and every status message says what to do next. Unexpected
/// exceptions are logged here and reach the client as INTERNAL without their details.
/// </summary>
public sealed class ErrorMappingInterceptor : Interceptor
{
    private const string DeadlineMessage = "the request's deadline passed before it could run; retry with a longer deadline or when the server is less busy.";
    private const string CancelledMessage = "the request was cancelled by the client.";
    private const string InternalMessage = "internal server error; the server log has details. Retry, and report it if it persists.";
    private const string MismatchAdvice = " This delta was built for another base model; rebuild it with `ken prune` against the model this server runs.";

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

    /// <summary>The status for <paramref name="exception"/> thrown while serving <paramref name="context"/>'s call.</summary>
    internal static Status StatusOf(Exception exception, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(exception);
        ArgumentNullException.ThrowIfNull(context);
        return exception switch
        {
            RpcException rpc => rpc.Status,
            AdminTokenMissingException e => new Status(StatusCode.Unauthenticated, e.Message),
            AdminTokenRejectedException e => new Status(StatusCode.PermissionDenied, e.Message),
            TaskNotFoundException e => new Status(StatusCode.NotFound, e.Message),
            TaskExistsException e => new Status(StatusCode.AlreadyExists, e.Message),
            DeltaMismatchException e => new Status(StatusCode.FailedPrecondition, e.Message + MismatchAdvice),
            KenException e => new Status(StatusCode.InvalidArgument, e.Message),
            ServerOverloadedException e => new Status(StatusCode.ResourceExhausted, e.Message),
            DeviceSwapException { OutOfMemory: true } e => new Status(StatusCode.ResourceExhausted, e.Message + "; raise --device-delta-budget headroom or lower --slot-memory, or retry later"),
            DeviceSwapException e => new Status(StatusCode.Unavailable, e.Message + "; retry"),
            ServerShuttingDownException e => new Status(StatusCode.Unavailable, e.Message),
            TaskVersionGoneException e => new Status(StatusCode.Unavailable, e.Message),
            OperationCanceledException when context.Deadline <= DateTime.UtcNow => new Status(StatusCode.DeadlineExceeded, DeadlineMessage),
            OperationCanceledException => new Status(StatusCode.Cancelled, CancelledMessage),
            _ => new Status(StatusCode.Internal, InternalMessage),
        };
    }

    private RpcException Map(Exception ex, ServerCallContext context)
    {
        var status = StatusOf(ex, context);
        if (status.StatusCode == StatusCode.Internal)
        {
            _logger.UnexpectedError(ex, context.Method);
        }

        return new RpcException(status);
    }
}
