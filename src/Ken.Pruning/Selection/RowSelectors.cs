using Ken.Format;
namespace Ken.Pruning.Selection;

/// <summary>Creates a selector from its method name (<c>--method</c>, delta metadata).</summary>
public static class RowSelectors
{
    /// <summary>The method names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Methods { get; } = ["ken", "magnitude", "random"];

    /// <summary>Returns the selector for <paramref name="method"/>; <paramref name="seed"/> feeds <c>random</c>.</summary>
    /// <exception cref="KenException">The method is unknown.</exception>
    public static IRowSelector Create(string method, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(method);
        return method.ToUpperInvariant() switch
        {
            "KEN" => new KenSelector(),
            "MAGNITUDE" => new MagnitudeSelector(),
            "RANDOM" => new RandomSelector(seed),
            _ => throw new KenException($"unknown selection method '{method}'; valid methods: {string.Join(", ", Methods)}"),
        };
    }
}
