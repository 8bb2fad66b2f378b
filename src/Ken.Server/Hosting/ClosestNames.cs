namespace Ken.Server.Hosting;

/// <summary>Orders known names by how close they are to a mistyped one (edit distance, ignoring case).</summary>
public static class ClosestNames
{
    /// <summary><paramref name="known"/>, closest to <paramref name="typed"/> first (ties keep their order).</summary>
    public static IReadOnlyList<string> Order(string typed, IEnumerable<string> known)
    {
        ArgumentNullException.ThrowIfNull(typed);
        ArgumentNullException.ThrowIfNull(known);
        return [.. known.Select((name, index) => (name, index, distance: Distance(typed.ToUpperInvariant(), name.ToUpperInvariant())))
            .OrderBy(x => x.distance).ThenBy(x => x.index).Select(x => x.name)];
    }

    /// <summary>Levenshtein distance: insertions, deletions and substitutions to turn <paramref name="a"/> into <paramref name="b"/>.</summary>
    public static int Distance(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
