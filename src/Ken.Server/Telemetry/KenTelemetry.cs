using System.Diagnostics;

namespace Ken.Server.Telemetry;

/// <summary>Names shared by the meter, the activity source and the OpenTelemetry set-up.</summary>
public static class KenTelemetry
{
    public const string Name = "Ken.Server";

    /// <summary>Request spans with queue, swap and inference children.</summary>
    public static readonly ActivitySource ActivitySource = new(Name);
}
