namespace Ken.Format.Checkpoints;

/// <summary>
/// Pairs a fine-tuned checkpoint's tensors with its base's. A task model wraps the encoder under an
/// architecture prefix (<c>bert.embeddings.word_embeddings.weight</c>) that the bare encoder lacks,
/// so names are compared as stored, with the first segment stripped from every fine-tuned name that
/// has it, or with it stripped from the base's names; the reading that pairs the most base tensors
/// wins, an unstripped reading on ties. Shapes and element types are the caller's to check.
/// </summary>
public static class CheckpointNameMatcher
{
    public static CheckpointNameMatch Match(ICheckpoint baseCheckpoint, ICheckpoint fineTuned)
    {
        ArgumentNullException.ThrowIfNull(baseCheckpoint);
        ArgumentNullException.ThrowIfNull(fineTuned);
        return Match(Names(baseCheckpoint), Names(fineTuned), baseCheckpoint.Source, fineTuned.Source);
    }

    /// <summary>Matches bare name lists; the sources only appear in the error message.</summary>
    public static CheckpointNameMatch Match(
        IReadOnlyList<string> baseNames, IReadOnlyList<string> fineTunedNames, string baseSource, string fineTunedSource)
    {
        ArgumentNullException.ThrowIfNull(baseNames);
        ArgumentNullException.ThrowIfNull(fineTunedNames);

        var best = Reading.Evaluate(baseNames, fineTunedNames, basePrefix: null, fineTunedPrefix: null);
        foreach (var prefix in FirstSegments(fineTunedNames))
        {
            best = Better(best, Reading.Evaluate(baseNames, fineTunedNames, basePrefix: null, fineTunedPrefix: prefix));
        }

        foreach (var prefix in FirstSegments(baseNames))
        {
            best = Better(best, Reading.Evaluate(baseNames, fineTunedNames, basePrefix: prefix, fineTunedPrefix: null));
        }

        if (best.Matched == 0)
        {
            throw new KenException(
                $"no tensor names in common between base {baseSource} and fine-tuned {fineTunedSource}; " +
                $"are they the same architecture? (base has e.g. '{First(baseNames)}', fine-tuned '{First(fineTunedNames)}')");
        }

        return best.Build(baseNames, fineTunedNames);
    }

    private static Reading Better(Reading current, Reading candidate) =>
        candidate.Matched > current.Matched ? candidate : current;

    private static string First(IReadOnlyList<string> names) => names.Count == 0 ? "(nothing)" : names[0];

    private static string[] Names(ICheckpoint checkpoint)
    {
        var names = new string[checkpoint.Tensors.Count];
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = checkpoint.Tensors[i].Name;
        }

        return names;
    }

    /// <summary>Distinct "text up to and including the first '.'" of names that have more after it.</summary>
    private static List<string> FirstSegments(IReadOnlyList<string> names)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<string>();
        foreach (var name in names)
        {
            var dot = name.IndexOf('.', StringComparison.Ordinal);
            if (dot > 0 && dot < name.Length - 1 && seen.Add(name[..(dot + 1)]))
            {
                result.Add(name[..(dot + 1)]);
            }
        }

        return result;
    }

    /// <summary>One way of reading the names: which prefix, if any, is stripped from which side.</summary>
    private sealed record Reading(string? BasePrefix, string? FineTunedPrefix, int Matched)
    {
        public static Reading Evaluate(
            IReadOnlyList<string> baseNames, IReadOnlyList<string> fineTunedNames, string? basePrefix, string? fineTunedPrefix)
        {
            var keys = Keys(fineTunedNames, fineTunedPrefix);
            var matched = 0;
            foreach (var name in baseNames)
            {
                if (Key(name, basePrefix) is { } key && keys.ContainsKey(key))
                {
                    matched++;
                }
            }

            return new Reading(basePrefix, fineTunedPrefix, matched);
        }

        public CheckpointNameMatch Build(IReadOnlyList<string> baseNames, IReadOnlyList<string> fineTunedNames)
        {
            var keys = Keys(fineTunedNames, FineTunedPrefix);
            var pairs = new List<TensorNamePair>();
            var baseOnly = new List<string>();
            var paired = new HashSet<string>(StringComparer.Ordinal);
            foreach (var name in baseNames)
            {
                if (Key(name, BasePrefix) is { } key && keys.TryGetValue(key, out var fineTunedName) && paired.Add(fineTunedName))
                {
                    pairs.Add(new TensorNamePair(name, fineTunedName));
                }
                else
                {
                    baseOnly.Add(name);
                }
            }

            var heads = new List<string>();
            foreach (var name in fineTunedNames)
            {
                if (!paired.Contains(name))
                {
                    heads.Add(name);
                }
            }

            return new CheckpointNameMatch(pairs, heads, baseOnly, FineTunedPrefix, BasePrefix);
        }

        /// <summary>
        /// With a prefix, only names that carry it take part (stripped); the others (a head such as
        /// <c>classifier.weight</c>) cannot pair.
        /// </summary>
        private static string? Key(string name, string? prefix) =>
            prefix is null ? name
            : name.StartsWith(prefix, StringComparison.Ordinal) ? name[prefix.Length..]
            : null;

        private static Dictionary<string, string> Keys(IReadOnlyList<string> names, string? prefix)
        {
            var keys = new Dictionary<string, string>(names.Count, StringComparer.Ordinal);
            foreach (var name in names)
            {
                if (Key(name, prefix) is { } key)
                {
                    keys.TryAdd(key, name);
                }
            }

            return keys;
        }
    }
}
