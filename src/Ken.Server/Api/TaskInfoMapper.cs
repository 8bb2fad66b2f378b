using Google.Protobuf.WellKnownTypes;

using Ken.Server.Registry;
using Ken.V1;

namespace Ken.Server.Api;

/// <summary>Describes a registry entry as a <see cref="TaskInfo"/> message.</summary>
public static class TaskInfoMapper
{
    public static TaskInfo ToMessage(TaskEntry entry, string baseModel)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var info = new TaskInfo
        {
            Name = entry.Name,
            Kind = entry.Kind == Ken.Format.Deltas.TaskKind.Classification ? Ken.V1.TaskKind.Classification : Ken.V1.TaskKind.Embedding,
            Bytes = (ulong)entry.FileBytes,
            BaseModel = baseModel,
            Tier = entry.Tier switch
            {
                Registry.ResidencyTier.Slot => Ken.V1.ResidencyTier.Slot,
                Registry.ResidencyTier.Device => Ken.V1.ResidencyTier.Device,
                Registry.ResidencyTier.Host => Ken.V1.ResidencyTier.Host,
                _ => Ken.V1.ResidencyTier.Disk,
            },
            Pinned = entry.Pinned,
            RequestCount = (ulong)entry.RequestCount,
            SwapCount = (ulong)entry.SwapCount,
            RegisteredAt = Timestamp.FromDateTimeOffset(entry.RegisteredAt),
            Method = entry.Metadata.Method,
            ResidentBytes = (ulong)entry.ResidentBytes,
            Generation = entry.Generation,
        };
        info.Labels.AddRange(entry.Metadata.Labels);
        if (entry.Metadata.K is { } k)
        {
            info.K = (uint)k;
        }
        else if (entry.Metadata.Keep is { } keep)
        {
            info.Keep = keep;
        }

        return info;
    }
}
