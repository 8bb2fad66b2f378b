using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Ken.Format.Faults;

/// <summary>
/// Named points in the registry's write path and the swap path where a test can kill the process or
/// make it throw, to prove that a crash exactly there loses nothing. Inert unless armed: a process
/// arms one point through <c>KEN_FAULT_POINT</c> (and <c>KEN_FAULT_ACTION</c>, <c>kill</c> by default);
/// a test assembly that sets the runtime switch <c>Ken.FaultPoints.Enabled</c> may also arm one in-process
/// with <see cref="Arm"/>. When neither is set, <see cref="Enabled"/> is a constant false and every
/// <see cref="Hit"/> compiles to nothing. For testing only; never arm a point on a server that matters.
/// </summary>
public static class FaultPoints
{
    /// <summary>The environment variable that names the point to arm.</summary>
    public const string PointVariable = "KEN_FAULT_POINT";

    /// <summary>The environment variable that names the action: <c>kill</c> (default) or <c>throw</c>.</summary>
    public const string ActionVariable = "KEN_FAULT_ACTION";

    /// <summary>The runtime switch (runtimeconfig) that lets a test assembly arm points in-process.</summary>
    public const string EnabledSwitch = "Ken.FaultPoints.Enabled";

    /// <summary>An upload is wholly written to its temp file, not yet flushed to disk.</summary>
    public const string RegistryBeforeFsync = "registry.before-fsync";

    /// <summary>An upload's temp file is on disk, not yet validated or renamed into place.</summary>
    public const string RegistryAfterFsync = "registry.after-fsync";

    /// <summary>An upload's file has its final name, its pin marker is not yet set and the registry does not list it yet.</summary>
    public const string RegistryAfterRename = "registry.after-rename";

    /// <summary>The registry lists the new task; the caller has not had its reply yet.</summary>
    public const string RegistryAfterPublish = "registry.after-publish";

    /// <summary>A slot switch has written about half of its tensors: the slot holds neither task.</summary>
    public const string SwapMidSwitch = "swap.mid-switch";

    /// <summary>Every point's name.</summary>
    public static readonly IReadOnlyList<string> Names =
        [RegistryBeforeFsync, RegistryAfterFsync, RegistryAfterRename, RegistryAfterPublish, SwapMidSwitch];

    /// <summary>
    /// True when this process may arm a point (<c>KEN_FAULT_POINT</c> is set, or the runtime switch is on).
    /// Read once: when false, the JIT removes every <see cref="Hit"/>; call sites may test it to skip bookkeeping.
    /// </summary>
    public static readonly bool Enabled =
        Environment.GetEnvironmentVariable(PointVariable) is { Length: > 0 }
        || (AppContext.TryGetSwitch(EnabledSwitch, out var on) && on);

    private static Armed? s_armed = Enabled ? FromEnvironment() : null;

    /// <summary>Marks that execution reached <paramref name="point"/>; does what the armed action says if it is the armed point.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Hit(string point)
    {
        if (Enabled)
        {
            Trigger(point);
        }
    }

    /// <summary>
    /// Arms <paramref name="point"/> in this process until the returned scope is disposed. Needs the runtime
    /// switch <c>Ken.FaultPoints.Enabled</c>; tests that arm a point must not run beside tests that pass it.
    /// </summary>
    public static IDisposable Arm(string point, FaultAction action)
    {
        if (!Enabled)
        {
            throw new InvalidOperationException($"fault points are off in this process; set the runtime switch {EnabledSwitch} (RuntimeHostConfigurationOption) in the test project.");
        }

        var armed = new Armed(Check(point), action, null);
        Volatile.Write(ref s_armed, armed);
        return new Scope(armed);
    }

    private static void Trigger(string point)
    {
        var armed = Volatile.Read(ref s_armed);
        if (armed is null)
        {
            return;
        }

        if (armed.Error is not null)
        {
            // A misspelt point must not pass silently as "no crash happened".
            throw new KenException(armed.Error);
        }

        if (!string.Equals(armed.Point, point, StringComparison.Ordinal))
        {
            return;
        }

        if (armed.Action == FaultAction.Throw)
        {
            throw new InjectedFaultException($"fault point {point} was reached with {ActionVariable}=throw (an injected failure, for testing).");
        }

        Console.Error.WriteLine($"fault point {point} reached: killing the process ({ActionVariable}=kill)");
        Console.Error.Flush();
        using var self = Process.GetCurrentProcess();
        self.Kill();
    }

    private static Armed? FromEnvironment()
    {
        var point = Environment.GetEnvironmentVariable(PointVariable);
        if (string.IsNullOrEmpty(point))
        {
            return null;
        }

        var actionText = Environment.GetEnvironmentVariable(ActionVariable);
        FaultAction? action = actionText switch
        {
            null or "" or "kill" => FaultAction.Kill,
            "throw" => FaultAction.Throw,
            _ => null,
        };
        if (!Names.Contains(point))
        {
            return new Armed(point, FaultAction.Kill, $"{PointVariable} is \"{point}\", which is no fault point; use one of {string.Join(", ", Names)} or unset it.");
        }

        return action is null
            ? new Armed(point, FaultAction.Kill, $"{ActionVariable} is \"{actionText}\"; use kill or throw.")
            : new Armed(point, action.Value, null);
    }

    private static string Check(string point) =>
        Names.Contains(point) ? point : throw new ArgumentException($"\"{point}\" is no fault point; use one of {string.Join(", ", Names)}.", nameof(point));

    private sealed record Armed(string Point, FaultAction Action, string? Error);

    private sealed class Scope(Armed armed) : IDisposable
    {
        public void Dispose() => Interlocked.CompareExchange(ref s_armed, null, armed);
    }
}
