namespace Ken.Cli.Terminal;

/// <summary>A plain aligned text table: left-aligned text columns, right-aligned numeric-looking ones.</summary>
internal sealed class TextTable(params string[] headers)
{
    private readonly List<string[]> rows = [];

    public void Add(params string[] cells)
    {
        if (cells.Length != headers.Length)
        {
            throw new ArgumentException($"expected {headers.Length} cells, got {cells.Length}", nameof(cells));
        }

        rows.Add(cells);
    }

    public void Write(TextWriter o)
    {
        var widths = new int[headers.Length];
        var numeric = new bool[headers.Length];
        for (int c = 0; c < headers.Length; c++)
        {
            widths[c] = headers[c].Length;
            numeric[c] = rows.Count > 0;
            foreach (var r in rows)
            {
                widths[c] = Math.Max(widths[c], r[c].Length);
                numeric[c] &= r[c].Length > 0 && (char.IsDigit(r[c][0]) || r[c][0] is '-' or '+') && !r[c].StartsWith('[');
            }
        }

        WriteRow(o, headers, widths, numeric);
        WriteRow(o, Array.ConvertAll(widths, w => new string('-', w)), widths, numeric);
        foreach (var r in rows)
        {
            WriteRow(o, r, widths, numeric);
        }
    }

    private static void WriteRow(TextWriter o, string[] cells, int[] widths, bool[] numeric)
    {
        for (int c = 0; c < cells.Length; c++)
        {
            if (c > 0)
            {
                o.Write("  ");
            }

            o.Write(numeric[c] ? cells[c].PadLeft(widths[c]) : cells[c].PadRight(widths[c]));
        }

        o.WriteLine();
    }
}
