using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;

using Google.Protobuf;

using Grpc.Core;

namespace Ken.Server.Tests.Serving;

/// <summary>
/// A unary gRPC call made by hand over HTTP/2, for what a generated client cannot do: send a deadline
/// (<c>grpc-timeout</c>) without enforcing it itself, so the server alone decides when it has passed.
/// </summary>
internal static class RawGrpcCall
{
    /// <summary>Calls <paramref name="method"/> (e.g. <c>/ken.v1.Inference/Embed</c>) and returns the status in the reply's trailers.</summary>
    public static async Task<Status> UnaryAsync(string address, string method, IMessage request, string grpcTimeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var payload = request.ToByteArray();
        var body = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(1, 4), (uint)payload.Length);
        payload.CopyTo(body, 5);

        using var http = new HttpClient();
        using var message = new HttpRequestMessage(HttpMethod.Post, new Uri(address + method))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        message.Headers.TE.ParseAdd("trailers");
        message.Headers.TryAddWithoutValidation("grpc-timeout", grpcTimeout);

        using var response = await http.SendAsync(message, cancellationToken);
        _ = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var headers = response.TrailingHeaders.Contains("grpc-status") ? response.TrailingHeaders : response.Headers;
        var code = (StatusCode)int.Parse(headers.GetValues("grpc-status").Single(), System.Globalization.CultureInfo.InvariantCulture);
        var detail = headers.TryGetValues("grpc-message", out var details) ? Uri.UnescapeDataString(details.Single()) : string.Empty;
        return new Status(code, detail);
    }
}
