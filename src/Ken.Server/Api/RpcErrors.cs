using Grpc.Core;
using Ken.Runtime.Tasks;

using Ken.Format;
using Ken.Server.Registry;
using Ken.Server.Scheduling;

namespace Ken.Server.Api;

/// <summary>The one mapping from exceptions to gRPC statuses; every message says what to do.</summary>
public static class RpcErrors
{
    public static RpcException Map(Exception exception, ServerCallContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception switch
        {
            RpcException rpc => rpc,
            TaskNotFoundException e => new RpcException(new Status(StatusCode.NotFound, e.Message)),
            TaskExistsException e => new RpcException(new Status(StatusCode.AlreadyExists, e.Message)),
            DeltaMismatchException e => new RpcException(new Status(StatusCode.FailedPrecondition, e.Message + " This delta was built for another base model; rebuild it with `ken prune` against the model this server runs.")),
            KenException e => new RpcException(new Status(StatusCode.InvalidArgument, e.Message)),
            ServerOverloadedException e => new RpcException(new Status(StatusCode.ResourceExhausted, e.Message)),
            ServerShuttingDownException e => new RpcException(new Status(StatusCode.Unavailable, e.Message)),
            OperationCanceledException when context is not null && context.Deadline <= DateTime.UtcNow =>
                new RpcException(new Status(StatusCode.DeadlineExceeded, "the request's deadline passed before it could run; retry with a longer deadline or when the server is less busy.")),
            OperationCanceledException => new RpcException(new Status(StatusCode.Cancelled, "the request was cancelled by the client.")),
            _ => new RpcException(new Status(StatusCode.Internal, "internal server error; the server log has details. Retry, and report it if it persists.")),
        };
    }
}
