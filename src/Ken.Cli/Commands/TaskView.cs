using Ken.V1;

namespace Ken.Cli.Commands;

/// <summary>A task as <c>ken tasks --json</c> and <c>ken task --json</c> print it (snake_case).</summary>
internal sealed record TaskView(
    string Name,
    string Kind,
    IReadOnlyList<string> Labels,
    uint? K,
    double? Keep,
    string Method,
    ulong Bytes,
    ulong ResidentBytes,
    string BaseModel,
    string Tier,
    bool Pinned,
    ulong RequestCount,
    ulong SwapCount,
    DateTimeOffset? RegisteredAt)
{
    public static TaskView From(TaskInfo t) => new(
        t.Name,
        t.Kind switch { TaskKind.Classification => "classification", TaskKind.Embedding => "embedding", _ => "unspecified" },
        [.. t.Labels],
        t.BudgetCase == TaskInfo.BudgetOneofCase.K ? t.K : null,
        t.BudgetCase == TaskInfo.BudgetOneofCase.Keep ? t.Keep : null,
        t.Method,
        t.Bytes,
        t.ResidentBytes,
        t.BaseModel,
        t.Tier switch { ResidencyTier.Disk => "disk", ResidencyTier.Host => "host", ResidencyTier.Slot => "slot", ResidencyTier.Device => "device", _ => "unspecified" },
        t.Pinned,
        t.RequestCount,
        t.SwapCount,
        t.RegisteredAt?.ToDateTimeOffset());

    public string Budget => K is { } k ? "k=" + k.ToString(System.Globalization.CultureInfo.InvariantCulture)
        : Keep is { } keep ? "keep=" + keep.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) : "-";
}
