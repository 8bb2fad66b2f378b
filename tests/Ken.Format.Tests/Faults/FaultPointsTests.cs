using Ken.Format.Faults;

namespace Ken.Format.Tests.Faults;

/// <summary>
/// Without <c>KEN_FAULT_POINT</c> or the runtime switch (this test assembly sets neither) fault points
/// are off: every hit passes and nothing can arm one. Armed behaviour is tested where it matters: in
/// Ken.Runtime.Tests (swap.mid-switch, throw) and Ken.Client.Tests (the server killed at each point).
/// </summary>
public sealed class FaultPointsTests
{
    [Fact]
    public void Fault_points_are_off_unless_the_environment_or_the_runtime_switch_arms_them()
    {
        Assert.Null(Environment.GetEnvironmentVariable(FaultPoints.PointVariable));
        Assert.False(FaultPoints.Enabled);
        foreach (var point in FaultPoints.Names)
        {
            FaultPoints.Hit(point);
        }

        var error = Assert.Throws<InvalidOperationException>(() => FaultPoints.Arm(FaultPoints.SwapMidSwitch, FaultAction.Throw));
        Assert.Contains(FaultPoints.EnabledSwitch, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_point_is_named_area_dot_place()
    {
        Assert.Equal(5, FaultPoints.Names.Distinct(StringComparer.Ordinal).Count());
        Assert.All(FaultPoints.Names, name => Assert.Matches("^(registry|swap)\\.[a-z-]+$", name));
    }
}
