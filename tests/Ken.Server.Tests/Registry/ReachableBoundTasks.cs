using System.Runtime.CompilerServices;
using Ken.Runtime.Tasks;

using Ken.Runtime.Backends;
using Ken.Server.Tests.Serving;

namespace Ken.Server.Tests.Registry;

/// <summary>
/// What is really resident, found without asking the registry: the bound tasks that anything in the
/// process still references after a full collection (the registry, a slot, a request).
/// </summary>
internal static class ReachableBoundTasks
{
    /// <summary>Names of the bound tasks still alive, sorted; a name twice means two copies of one task.</summary>
    public static List<string> Names(FakeBackend backend)
    {
        var names = new List<string>();
        foreach (var bound in Alive(backend))
        {
            names.Add(bound.Name);
        }

        names.Sort(StringComparer.Ordinal);
        return names;
    }

    public static long Bytes(FakeBackend backend)
    {
        long bytes = 0;
        foreach (var bound in Alive(backend))
        {
            bytes += bound.ResidentBytes;
        }

        return bytes;
    }

    // Not inlined, so no caller's frame keeps a strong reference that outlives the check.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static List<BoundTask> Alive(FakeBackend backend)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var alive = new List<BoundTask>();
        foreach (var weak in backend.Binds)
        {
            if (weak.TryGetTarget(out var bound))
            {
                alive.Add(bound);
            }
        }

        return alive;
    }
}
