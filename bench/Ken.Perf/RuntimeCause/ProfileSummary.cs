using System.Text.Json;

namespace Ken.Perf.RuntimeCause;

/// <summary>
/// Kernel time per op type from one ONNX Runtime profile: each node's fastest run, summed over the
/// nodes of a type. The minimum per node filters out the other jobs on a shared machine.
/// </summary>
internal static class ProfileSummary
{
    private const string KernelTimeSuffix = "_kernel_time";

    /// <summary>Milliseconds per op type.</summary>
    public static Dictionary<string, double> Read(string path)
    {
        using var stream = File.OpenRead(path);
        using var document = JsonDocument.Parse(stream);
        var fastest = new Dictionary<string, (string Op, long Microseconds)>(StringComparer.Ordinal);
        foreach (var item in document.RootElement.EnumerateArray())
        {
            if (!item.TryGetProperty("cat", out var category) || category.GetString() != "Node")
            {
                continue;
            }

            var name = item.GetProperty("name").GetString()!;
            if (!name.EndsWith(KernelTimeSuffix, StringComparison.Ordinal))
            {
                continue;
            }

            var op = item.GetProperty("args").GetProperty("op_name").GetString()!;
            var duration = item.GetProperty("dur").GetInt64();
            if (!fastest.TryGetValue(name, out var known) || duration < known.Microseconds)
            {
                fastest[name] = (op, duration);
            }
        }

        var byOp = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (op, microseconds) in fastest.Values)
        {
            byOp[op] = byOp.GetValueOrDefault(op) + (microseconds / 1000.0);
        }

        return byOp;
    }
}
