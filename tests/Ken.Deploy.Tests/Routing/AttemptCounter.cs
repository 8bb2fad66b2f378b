using System.Net;

namespace Ken.Deploy.Tests.Routing;

/// <summary>
/// Sits under gRPC's retry policy in the channel's HTTP stack and counts every attempt that failed
/// in a way the policy retries: no connection, an HTTP error status from the proxy (502/503 read as
/// UNAVAILABLE), or a trailers-only gRPC error. The calls above it see only the final outcome.
/// </summary>
internal sealed class AttemptCounter : DelegatingHandler
{
    private int attempts;
    private int failures;

    public AttemptCounter()
        : base(new SocketsHttpHandler { EnableMultipleHttp2Connections = true })
    {
    }

    public int Attempts => Volatile.Read(ref attempts);

    public int Failures => Volatile.Read(ref failures);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref attempts);
        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException)
        {
            Interlocked.Increment(ref failures);
            throw;
        }

        bool grpcError = response.Headers.TryGetValues("grpc-status", out var status) && status.FirstOrDefault() is { } code && code != "0";
        if (response.StatusCode != HttpStatusCode.OK || grpcError)
        {
            Interlocked.Increment(ref failures);
        }

        return response;
    }
}
