using System.Collections;

using Ken.Format;

namespace Ken.Server.Hosting;

/// <summary>
/// Refuses configuration that would otherwise be silently ignored, before anything starts:
/// <list type="bullet">
/// <item>command-line arguments: every <c>--flag</c> must be a Ken flag (<see cref="OptionSources.Flags"/>) or one of
/// the host's own (<see cref="HostFlags"/>); a flag naming a configuration path (<c>--Logging:LogLevel:Default</c>,
/// <c>--Kestrel:…</c>) is left to ASP.NET unless it is under <c>Ken:</c>; stray words and a flag without a value are refused;</item>
/// <item>environment: every <c>KEN_*</c> variable must be known (<see cref="OptionSources.EnvironmentVariables"/>);
/// <c>ASPNETCORE_*</c>, <c>DOTNET_*</c> and others are not Ken's and are not checked;</item>
/// <item>configuration: every key of the <c>Ken</c> section (appsettings.json, <c>Ken__*</c> variables,
/// <c>--Ken:*</c> flags) must be a known key (<see cref="OptionSources.Keys"/>); other sections (Logging, Kestrel…) are ASP.NET's.</item>
/// </list>
/// Each refusal is a <see cref="KenException"/> with one line naming the closest known names first.
/// </summary>
public static class ConfigurationGuard
{
    /// <summary>Flags the ASP.NET host itself reads from the command line.</summary>
    public static readonly IReadOnlyList<string> HostFlags = ["--urls", "--environment", "--contentRoot", "--applicationName"];

    /// <summary>Throws <see cref="KenException"/> for an unknown flag, a flag without a value or a stray argument.</summary>
    public static void CheckArguments(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var known = OptionSources.Flags.Concat(HostFlags).ToList();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            var prefix = arg.StartsWith("--", StringComparison.Ordinal) ? 2 : arg.StartsWith('-') || arg.StartsWith('/') ? 1 : 0;
            if (prefix == 0)
            {
                throw new KenException($"unexpected argument \"{arg}\"; options are written --name value (e.g. --max-batch 16). Known flags: {string.Join(", ", known)}.");
            }

            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var name = arg[prefix..(equals < 0 ? arg.Length : equals)];
            var flag = "--" + name;
            if (equals < 0)
            {
                if (i + 1 >= args.Count)
                {
                    throw new KenException($"{flag} has no value; write {flag} VALUE (switches take on or off).");
                }

                i++;
            }

            if (name.Contains(':', StringComparison.Ordinal))
            {
                // A configuration path: ASP.NET's sections pass; Ken's keys are checked with the section.
                continue;
            }

            if (!known.Contains(flag, StringComparer.OrdinalIgnoreCase))
            {
                throw new KenException($"unknown flag {arg[..(equals < 0 ? arg.Length : equals)]}; known flags, closest first: {string.Join(", ", ClosestNames.Order(flag, known))}.");
            }
        }
    }

    /// <summary>Throws <see cref="KenException"/> for a <c>KEN_*</c> variable the server does not know.</summary>
    public static void CheckEnvironment(IDictionary environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var known = OptionSources.EnvironmentVariables;
        var unknown = environment.Keys.OfType<string>()
            .Where(name => name.StartsWith("KEN_", StringComparison.OrdinalIgnoreCase) && !known.Contains(name, StringComparer.Ordinal))
            .Order(StringComparer.Ordinal)
            .FirstOrDefault();
        if (unknown is not null)
        {
            throw new KenException($"unknown environment variable {unknown}; unset it or use a known one, closest first: {string.Join(", ", ClosestNames.Order(unknown, known))}.");
        }
    }

    /// <summary>Throws <see cref="KenException"/> for a key of the <c>Ken</c> configuration section that is not an option.</summary>
    public static void CheckSection(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var known = OptionSources.Keys;
        foreach (var child in configuration.GetSection(KenServerOptions.Section).GetChildren())
        {
            if (!known.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                var closest = ClosestNames.Order(child.Key, known);
                throw new KenException($"unknown setting {KenServerOptions.Section}:{child.Key} (appsettings.json, a Ken__ variable or a --Ken: flag); known keys, closest first: {string.Join(", ", closest)} (flag {OptionSources.FlagFor(closest[0])}).");
            }
        }
    }
}
