using Ken.Format;

namespace Ken.Server.Registry;

/// <summary>Task names are file names in the registry, so they are restricted to <c>[a-z0-9][a-z0-9._-]{0,63}</c>.</summary>
public static class TaskName
{
    public const int MaxLength = 64;

    public static bool IsValid(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxLength || !IsLowerAlphanumeric(name[0]))
        {
            return false;
        }

        for (var i = 1; i < name.Length; i++)
        {
            var c = name[i];
            if (!IsLowerAlphanumeric(c) && c != '.' && c != '_' && c != '-')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Throws <see cref="KenException"/> (INVALID_ARGUMENT) for an invalid name.</summary>
    public static void Validate(string? name)
    {
        if (!IsValid(name))
        {
            throw new KenException($"task name \"{name}\" is not valid; use 1 to {MaxLength} characters from a-z, 0-9, '.', '_' and '-', starting with a letter or digit.");
        }
    }

    private static bool IsLowerAlphanumeric(char c) => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c);
}
