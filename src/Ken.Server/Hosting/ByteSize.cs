using System.Globalization;

using Ken.Format;

namespace Ken.Server.Hosting;

/// <summary>Parses byte sizes written by people: <c>1048576</c>, <c>512MB</c>, <c>2GiB</c>, <c>64k</c>.</summary>
public static class ByteSize
{
    /// <summary>Parses <paramref name="text"/>; <paramref name="option"/> names the flag in the error.</summary>
    public static long Parse(string text, string option)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        var split = 0;
        while (split < trimmed.Length && (char.IsAsciiDigit(trimmed[split]) || trimmed[split] == '.'))
        {
            split++;
        }

        var unit = trimmed[split..].Trim().ToUpperInvariant();
        long multiplier = unit switch
        {
            "" or "B" => 1,
            "K" or "KB" or "KIB" => 1L << 10,
            "M" or "MB" or "MIB" => 1L << 20,
            "G" or "GB" or "GIB" => 1L << 30,
            "T" or "TB" or "TIB" => 1L << 40,
            _ => -1,
        };
        if (split == 0 || multiplier < 0
            || !double.TryParse(trimmed.AsSpan(0, split), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number)
            || number < 0 || number * multiplier > long.MaxValue)
        {
            throw new KenException($"{option} is \"{text}\", which is not a byte size; write a number with an optional unit, e.g. 536870912, 512MB or 2GiB.");
        }

        return (long)(number * multiplier);
    }

    /// <summary>Formats <paramref name="bytes"/> for logs, e.g. <c>512 MiB</c>.</summary>
    public static string Format(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes} B")
            : string.Create(CultureInfo.InvariantCulture, $"{value:0.#} {units[unit]}");
    }
}
