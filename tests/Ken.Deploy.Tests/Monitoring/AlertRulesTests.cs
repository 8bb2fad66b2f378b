using Ken.Deploy.Tests.Support;

namespace Ken.Deploy.Tests.Monitoring;

/// <summary>deploy/prometheus/ken-alerts.yml through Prometheus's own checker and rule unit tests.</summary>
public sealed class AlertRulesTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Promtool_accepts_the_alert_rules()
    {
        string promtool = Tools.Require("promtool", "prometheus");
        var (exit, stdout, stderr) = await ToolRun.RunAsync(promtool, ["check", "rules", Tools.Deploy("prometheus", "ken-alerts.yml")], Ct);
        Assert.True(exit == 0, stdout + stderr);
    }

    [Fact]
    public async Task The_alert_rules_fire_as_their_unit_tests_expect()
    {
        string promtool = Tools.Require("promtool", "prometheus");
        var (exit, stdout, stderr) = await ToolRun.RunAsync(promtool, ["test", "rules", "ken-alerts.test.yml"], Ct, Tools.Deploy("prometheus"));
        Assert.True(exit == 0, stdout + stderr);
    }
}
