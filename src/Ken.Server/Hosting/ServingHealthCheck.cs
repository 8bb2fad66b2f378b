using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Ken.Server.Hosting;

/// <summary>
/// Feeds <c>grpc.health.v1.Health</c>: NOT_SERVING until the backend and registry are loaded and once
/// shutdown begins. Overload does not make the server unhealthy: it sheds load with RESOURCE_EXHAUSTED.
/// </summary>
public sealed class ServingHealthCheck : IHealthCheck
{
    private readonly ServingState _state;

    public ServingHealthCheck(ServingState state) => _state = state;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_state.IsServing ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("loading or shutting down"));
}
