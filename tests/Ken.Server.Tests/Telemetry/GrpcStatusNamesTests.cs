using Grpc.Core;

using Ken.Server.Telemetry;

namespace Ken.Server.Tests.Telemetry;

public sealed class GrpcStatusNamesTests
{
    [Fact]
    public void Every_status_code_has_its_name_from_the_grpc_spec()
    {
        // https://github.com/grpc/grpc/blob/master/doc/statuscodes.md, in code order.
        string[] spec =
        [
            "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
            "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
            "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
        ];

        Assert.Equal(spec, Enumerable.Range(0, spec.Length).Select(code => GrpcStatusNames.Of((StatusCode)code)));
        Assert.Equal("42", GrpcStatusNames.Of((StatusCode)42));
    }

    [Fact]
    public void A_lookup_returns_the_cached_name_without_allocating()
    {
        Assert.Same(GrpcStatusNames.Of(StatusCode.DeadlineExceeded), GrpcStatusNames.Of(StatusCode.DeadlineExceeded));
        var before = GC.GetAllocatedBytesForCurrentThread();
        var length = 0;
        for (var i = 0; i < 1000; i++)
        {
            length += GrpcStatusNames.Of((StatusCode)(i % 17)).Length;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(length > 0);
    }
}
