using System.Diagnostics;

using Grpc.Core;
using Grpc.Core.Interceptors;

using Ken.Server.Registry;
using Ken.V1;

namespace Ken.Server.Telemetry;

/// <summary>
/// The <c>ken.request</c> span and <c>ken_requests_total{task,status}</c> and
/// <c>ken_request_duration_seconds{task}</c> for every inference call. Registered outside
/// <see cref="Api.ErrorMappingInterceptor"/>, so the status it records is the one the client gets.
/// </summary>
public sealed class RequestTelemetryInterceptor : Interceptor
{
    /// <summary>The task label of requests whose task name is not a valid name (keeps label values bounded).</summary>
    public const string InvalidTaskLabel = "(invalid)";

    private readonly KenMetrics _metrics;

    public RequestTelemetryInterceptor(KenMetrics metrics) => _metrics = metrics;

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        var (task, texts) = request switch
        {
            ClassifyRequest classify => (classify.Task, classify.Texts.Count),
            EmbedRequest embed => (embed.Task, embed.Texts.Count),
            _ => (null, 0),
        };
        if (task is null)
        {
            return await continuation(request, context);
        }

        var started = Stopwatch.GetTimestamp();
        using var activity = KenTelemetry.ActivitySource.StartActivity("ken.request", ActivityKind.Internal);
        activity?.SetTag("ken.task", task);
        activity?.SetTag("ken.texts", texts);
        var status = StatusCode.OK;
        try
        {
            return await continuation(request, context);
        }
        catch (RpcException ex)
        {
            status = ex.StatusCode;
            activity?.SetStatus(ActivityStatusCode.Error, ex.Status.Detail);
            throw;
        }
        catch (Exception ex)
        {
            // Not reached while the error mapping runs inside this interceptor; gRPC reports anything else as UNKNOWN.
            status = StatusCode.Unknown;
            activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            throw;
        }
        finally
        {
            _metrics.Request(TaskName.IsValid(task) ? task : InvalidTaskLabel, GrpcStatusNames.Of(status), Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }
}
