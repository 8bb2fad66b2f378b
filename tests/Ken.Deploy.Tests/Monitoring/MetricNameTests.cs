using System.Text.Json;
using System.Text.RegularExpressions;
using Ken.Deploy.Tests.Manifests;
using Ken.Deploy.Tests.Support;

namespace Ken.Deploy.Tests.Monitoring;

/// <summary>
/// Every metric the Grafana dashboard and the alert rules query is one a real server exports (a
/// renamed metric would leave a panel empty and an alert silent, with no error anywhere).
/// </summary>
public sealed partial class MetricNameTests(MetricsServerFixture fx) : IClassFixture<MetricsServerFixture>
{
    [Fact]
    public void Every_metric_the_dashboard_queries_is_exported()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Tools.Deploy("grafana", "ken.json")));
        var expressions = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray())
            .Select(t => t.GetProperty("expr").GetString()!)
            .ToList();
        Assert.True(expressions.Count >= 10, "the dashboard has fewer panels than the ones it should show");

        var templates = dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray()
            .Where(v => v.TryGetProperty("query", out var q) && q.ValueKind == JsonValueKind.String)
            .Select(v => v.GetProperty("query").GetString()!);
        AssertExported([.. expressions, .. templates]);

        // The panels the deployment guide promises.
        string all = string.Join('\n', expressions);
        foreach (string metric in (string[])["ken_requests_total", "ken_request_duration_seconds_bucket", "ken_queue_depth", "ken_swaps_total", "ken_slot_hits_total", "ken_resident_bytes"])
        {
            Assert.Contains(metric, all, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Every_ken_metric_the_alert_rules_query_is_exported()
    {
        var rules = Yaml.Documents(File.ReadAllText(Tools.Deploy("prometheus", "ken-alerts.yml")));
        var expressions = Yaml.Maps(Assert.Single(rules), "groups")
            .SelectMany(g => Yaml.Maps(g, "rules"))
            .Select(r => Yaml.Text(r, "expr")!)
            .ToList();
        Assert.NotEmpty(expressions);
        AssertExported(expressions);
    }

    private void AssertExported(IEnumerable<string> expressions)
    {
        foreach (string expression in expressions)
        {
            foreach (Match metric in MetricName().Matches(expression))
            {
                Assert.True(fx.Exported.Contains(metric.Value), $"{metric.Value} (in \"{expression}\") is not among the server's metrics: {string.Join(", ", fx.Exported.Where(n => n.StartsWith("ken_", StringComparison.Ordinal)).Order())}");
            }
        }
    }

    [GeneratedRegex(@"\bken_[a-z_]+\b")]
    private static partial Regex MetricName();
}
