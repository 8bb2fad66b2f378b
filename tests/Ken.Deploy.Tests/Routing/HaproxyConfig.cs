using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Ken.Deploy.Tests.Routing;

/// <summary>
/// deploy/haproxy/haproxy.cfg with its server lists (each block between "# @servers" and "# @end")
/// replaced by the given replicas: everything else (balancing, hashing, checks, retries) is the file
/// as shipped.
/// </summary>
internal static partial class HaproxyConfig
{
    public static string Render(string template, IReadOnlyList<(string Name, int GrpcPort, int MetricsPort)> replicas)
    {
        var servers = new StringBuilder();
        foreach (var (name, grpc, metrics) in replicas)
        {
            servers.Append(CultureInfo.InvariantCulture, $"    server {name} 127.0.0.1:{grpc} port {metrics}\n");
        }

        string rendered = ServerBlock().Replace(template, m => m.Groups["open"].Value + servers + m.Groups["close"].Value);
        if (rendered == template)
        {
            throw new InvalidOperationException("the HAProxy template has no \"# @servers\" … \"# @end\" block");
        }

        return rendered;
    }

    /// <summary>The template with every server block emptied: what two variants of the file must share.</summary>
    public static string WithoutServers(string config) => ServerBlock().Replace(config, m => m.Groups["open"].Value + m.Groups["close"].Value);

    [GeneratedRegex(@"(?<open>    # @servers\n)(?s:.*?)(?<close>    # @end\n)")]
    private static partial Regex ServerBlock();
}
