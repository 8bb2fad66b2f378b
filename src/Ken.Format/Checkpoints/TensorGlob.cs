using System.Text;
using System.Text.RegularExpressions;

namespace Ken.Format.Checkpoints;

/// <summary>
/// A glob over canonical tensor names: <c>*</c> matches any run of characters (dots included, so
/// <c>encoder.*.attention.*</c> spans layers), <c>?</c> one character; everything else is literal.
/// </summary>
public sealed class TensorGlob
{
    private readonly Regex regex;

    public TensorGlob(string pattern)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);
        Pattern = pattern;
        var sb = new StringBuilder("^");
        foreach (char c in pattern)
        {
            sb.Append(c switch
            {
                '*' => ".*",
                '?' => ".",
                _ => Regex.Escape(c.ToString()),
            });
        }

        sb.Append('$');
        regex = new Regex(sb.ToString(), RegexOptions.CultureInvariant | RegexOptions.Compiled, TimeSpan.FromSeconds(1));
    }

    public string Pattern { get; }

    public bool IsMatch(string name) => regex.IsMatch(name);

    /// <summary>True when <paramref name="name"/> passes the include list (empty = all) and no exclude.</summary>
    public static bool Selects(string name, IReadOnlyList<TensorGlob> include, IReadOnlyList<TensorGlob> exclude)
    {
        bool included = include.Count == 0;
        foreach (var g in include)
        {
            if (g.IsMatch(name))
            {
                included = true;
                break;
            }
        }

        if (!included)
        {
            return false;
        }

        foreach (var g in exclude)
        {
            if (g.IsMatch(name))
            {
                return false;
            }
        }

        return true;
    }
}
