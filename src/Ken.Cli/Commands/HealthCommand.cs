using System.CommandLine;
using System.Text.Json;
using Grpc.Health.V1;

namespace Ken.Cli.Commands;

/// <summary><c>ken health</c>: the server's grpc.health.v1 status; exit 1 unless SERVING.</summary>
internal static class HealthCommand
{
    public static Command Create(TextWriter stdout)
    {
        var jsonOption = new Option<bool>("--json") { Description = "Print JSON instead of text." };
        var server = new ServerConnection();
        var command = new Command("health", "Check whether a server is up and serving.") { jsonOption };
        server.AddTo(command);
        command.SetAction(parse => server.Run(
            parse,
            async (client, ct) =>
            {
                var status = await client.CheckHealthAsync(ct);
                bool serving = status == HealthCheckResponse.Types.ServingStatus.Serving;
                string text = status switch
                {
                    HealthCheckResponse.Types.ServingStatus.Serving => "SERVING",
                    HealthCheckResponse.Types.ServingStatus.NotServing => "NOT_SERVING",
                    HealthCheckResponse.Types.ServingStatus.ServiceUnknown => "SERVICE_UNKNOWN",
                    _ => "UNKNOWN",
                };
                if (parse.GetValue(jsonOption))
                {
                    stdout.WriteLine(JsonSerializer.Serialize(new { server = client.Address, status = text, serving }, ReportJson.Options));
                }
                else
                {
                    stdout.WriteLine(serving
                        ? $"{client.Address}: {text}"
                        : $"{client.Address}: {text} (starting up, or shutting down; retry in a moment)");
                }

                return serving ? CommandLineApp.Success : CommandLineApp.Failure;
            },
            maxRetries: 0));
        return command;
    }
}
