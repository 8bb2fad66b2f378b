namespace Ken.Server.Tests.Telemetry;

public sealed class PrometheusTextTests
{
    [Fact]
    public void Parses_types_labels_escapes_and_special_values()
    {
        var text = PrometheusText.Parse(
            "# HELP ken_requests_total Requests.\n" +
            "# TYPE ken_requests_total counter\n" +
            "ken_requests_total{otel_scope_name=\"Ken.Server\",status=\"OK\",task=\"a\"} 3 1700000000000\n" +
            "ken_requests_total{status=\"NOT_FOUND\",task=\"q\\\"x\\\\y\"} 1\n" +
            "ken_requests_total{status=\"OK\",task=\"a\",} 2\n" +
            "ken_request_duration_seconds_bucket{task=\"a\",le=\"+Inf\"} +Inf\n" +
            "ken_queue_depth 0\n");

        Assert.Equal("counter", text.TypeOf("ken_requests_total"));
        Assert.Null(text.TypeOf("ken_queue_depth"));
        Assert.Equal(5, text.Samples.Count);
        Assert.Equal(5, text.Value("ken_requests_total", ("task", "a"), ("status", "OK")));
        Assert.Equal(1, text.Value("ken_requests_total", ("task", "q\"x\\y")));
        Assert.Equal(0, text.Value("ken_requests_total", ("task", "absent")));
        Assert.Equal(double.PositiveInfinity, text.Value("ken_request_duration_seconds_bucket", ("le", "+Inf")));
        Assert.Empty(text.Samples.Single(s => s.Name == "ken_queue_depth").Labels);
    }
}
