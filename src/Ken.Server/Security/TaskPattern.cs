using Ken.Format;

namespace Ken.Server.Security;

/// <summary>A task name pattern of a tenant token: task-name characters, where <c>*</c> matches any run of them (including none).</summary>
public sealed class TaskPattern
{
    private readonly string[] _parts;

    private TaskPattern(string text)
    {
        Text = text;
        _parts = text.Split('*');
    }

    public string Text { get; }

    /// <summary>Throws <see cref="KenException"/> for a pattern with characters no task name has.</summary>
    public static TaskPattern Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0 || text.Length > 256 || text.Any(c => !(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '_' or '-' or '*')))
        {
            throw new KenException($"task pattern \"{text}\" is not valid; use task-name characters (a-z, 0-9, '.', '_', '-') and * for any run of them, e.g. \"spam-*\".");
        }

        return new TaskPattern(text);
    }

    /// <summary>Whether <paramref name="task"/> matches the whole pattern.</summary>
    public bool Matches(string task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (_parts.Length == 1)
        {
            return string.Equals(task, _parts[0], StringComparison.Ordinal);
        }

        // The first part anchors the start and the last the end; the middle ones are found left to right.
        var first = _parts[0];
        var last = _parts[^1];
        if (task.Length < first.Length + last.Length || !task.StartsWith(first, StringComparison.Ordinal) || !task.EndsWith(last, StringComparison.Ordinal))
        {
            return false;
        }

        var position = first.Length;
        var end = task.Length - last.Length;
        for (var i = 1; i < _parts.Length - 1; i++)
        {
            var found = task.IndexOf(_parts[i], position, end - position, StringComparison.Ordinal);
            if (found < 0)
            {
                return false;
            }

            position = found + _parts[i].Length;
        }

        return true;
    }
}
