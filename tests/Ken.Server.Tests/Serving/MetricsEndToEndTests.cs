using Grpc.Core;

using Ken.Server.Tests.Telemetry;
using Ken.V1;

using TaskKind = Ken.Format.Deltas.TaskKind;

namespace Ken.Server.Tests.Serving;

/// <summary>
/// <c>/metrics</c> scraped over HTTP and parsed. Servers in other tests of this process publish through
/// meters of the same name, which the exporter of every server in the process listens to: every series
/// checked here belongs to a task name no other test uses, and the class runs alone, because a server
/// that another test disposes mid-scrape takes its same-named instruments out of the shared streams.
/// </summary>
[Collection(nameof(MetricsEndToEndTests))]
public sealed class MetricsEndToEndTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Each_request_adds_exactly_one_to_ken_requests_total_for_its_task_and_final_status()
    {
        var task = "metrics-" + Guid.NewGuid().ToString("N")[..12];
        var missing = "missing-" + Guid.NewGuid().ToString("N")[..12];
        var dataDir = TestServer.NewDataDir();
        TestServer.Seed(dataDir, task, TaskKind.Embedding);
        await using var server = await TestServer.StartAsync(new FakeBackend(), dataDir);
        using var http = new HttpClient();

        var before = await ScrapeAsync(http, server);
        Assert.Equal(0, Requests(before, task, "OK"));
        Assert.Equal(0, Requests(before, missing, "NOT_FOUND"));

        for (var call = 1; call <= 2; call++)
        {
            await server.Inference.EmbedAsync(new EmbedRequest { Task = task, Texts = { "x" } }, cancellationToken: Ct);
            var afterOk = await ScrapeAsync(http, server);
            Assert.Equal(call, Requests(afterOk, task, "OK"));
            Assert.Equal(call, afterOk.Value("ken_request_duration_seconds_count", ("task", task)));

            var error = await Assert.ThrowsAsync<RpcException>(() => server.Inference.EmbedAsync(new EmbedRequest { Task = missing, Texts = { "x" } }, cancellationToken: Ct).ResponseAsync);
            Assert.Equal(StatusCode.NotFound, error.StatusCode);
            var afterNotFound = await ScrapeAsync(http, server);
            Assert.Equal(call, Requests(afterNotFound, missing, "NOT_FOUND"));
            Assert.Equal(call, Requests(afterNotFound, task, "OK"));
            Assert.Equal(0, Requests(afterNotFound, missing, "OK"));
        }

        // Statuses of one task are separate series, and the histogram counts both.
        var last = await ScrapeAsync(http, server);
        Assert.Equal("counter", last.TypeOf("ken_requests_total"));
        Assert.Equal("histogram", last.TypeOf("ken_request_duration_seconds"));
        Assert.Equal(2, last.Value("ken_request_duration_seconds_count", ("task", missing)));
        Assert.Equal(2, last.Value("ken_request_duration_seconds_bucket", ("task", task), ("le", "+Inf")));
    }

    [Fact]
    public async Task Requests_for_invalid_task_names_share_the_invalid_label()
    {
        var name = "Not A Valid Name " + Guid.NewGuid().ToString("N");
        await using var server = await TestServer.StartAsync(new FakeBackend());
        using var http = new HttpClient();

        var before = Requests(await ScrapeAsync(http, server), "(invalid)", "INVALID_ARGUMENT");
        var error = await Assert.ThrowsAsync<RpcException>(() => server.Inference.ClassifyAsync(new ClassifyRequest { Task = name, Texts = { "x" } }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);

        var after = await ScrapeAsync(http, server);
        // Other tests may send invalid names at the same time, so at least this one request is counted.
        Assert.True(Requests(after, "(invalid)", "INVALID_ARGUMENT") >= before + 1);
        Assert.DoesNotContain(after.Samples, s => s.Labels.Values.Contains(name));
    }

    [Fact]
    public async Task Ken_task_resident_reports_each_task_once_in_the_tier_it_is_in()
    {
        var task = "resident-" + Guid.NewGuid().ToString("N")[..12];
        var other = "resident-" + Guid.NewGuid().ToString("N")[..12];
        using var backend = new FakeBackend(slots: 1);
        await using var server = await TestServer.StartAsync(backend, extraArgs: ["--host-delta-budget", FakeBackend.BoundBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        using var http = new HttpClient();

        // Registered: bound in host memory.
        await server.RegisterAsync(task, TestDeltas.Bytes(task, TaskKind.Embedding));
        AssertTier(await ScrapeAsync(http, server), task, "host");

        // Served: in the one slot.
        await server.Inference.EmbedAsync(new EmbedRequest { Task = task, Texts = { "x" } }, cancellationToken: Ct);
        AssertTier(await ScrapeAsync(http, server), task, "slot");

        // Another task takes the slot; the budget holds one bound task, so the first goes back to disk.
        await server.RegisterAsync(other, TestDeltas.Bytes(other, TaskKind.Embedding));
        await server.Inference.EmbedAsync(new EmbedRequest { Task = other, Texts = { "x" } }, cancellationToken: Ct);
        var swapped = await ScrapeAsync(http, server);
        AssertTier(swapped, task, "disk");
        AssertTier(swapped, other, "slot");
        Assert.Equal("gauge", swapped.TypeOf("ken_task_resident"));

        // Unregistered: no series at all.
        await server.Registry.UnregisterTaskAsync(new UnregisterTaskRequest { Name = task }, TestServer.AdminHeaders, cancellationToken: Ct);
        Assert.DoesNotContain((await ScrapeAsync(http, server)).Samples, s => s.Name == "ken_task_resident" && s.Labels["task"] == task);
    }

    /// <summary>Exactly one series for <paramref name="task"/>, in <paramref name="tier"/>, with value 1.</summary>
    private static void AssertTier(PrometheusText text, string task, string tier)
    {
        var series = text.Samples.Where(s => s.Name == "ken_task_resident" && s.Labels.GetValueOrDefault("task") == task).ToList();
        var only = Assert.Single(series);
        Assert.Equal(tier, only.Labels["tier"]);
        Assert.Equal(1, only.Value);
    }

    private static double Requests(PrometheusText text, string task, string status) =>
        text.Value("ken_requests_total", ("task", task), ("status", status));

    private static async Task<PrometheusText> ScrapeAsync(HttpClient http, TestServer server) =>
        PrometheusText.Parse(await http.GetStringAsync(new Uri(server.MetricsAddress + "/metrics"), Ct));
}

/// <summary>Runs <see cref="MetricsEndToEndTests"/> with no other test class at the same time.</summary>
[CollectionDefinition(nameof(MetricsEndToEndTests), DisableParallelization = true)]
public sealed class MetricsEndToEndRunsAlone;
