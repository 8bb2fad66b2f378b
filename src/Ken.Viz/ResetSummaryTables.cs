using System.Globalization;
using System.Net;
using System.Text;

namespace Ken.Viz;

/// <summary>A <see cref="ResetSummary"/> as plain text, Markdown or an HTML fragment.</summary>
public static class ResetSummaryTables
{
    private static readonly string[] LayerHeader = ["layer", "tensors", "elements", "kept", "reset %"];
    private static readonly string[] TensorHeader = ["tensor", "layer", "elements", "kept", "reset %"];

    public static string ToText(ResetSummary summary)
    {
        var sb = new StringBuilder();
        WriteText(sb, LayerHeader, LayerRows(summary));
        sb.AppendLine();
        WriteText(sb, TensorHeader, TensorRows(summary));
        sb.AppendLine();
        sb.AppendLine(OverallLine(summary));
        return sb.ToString();
    }

    public static string ToMarkdown(ResetSummary summary)
    {
        var sb = new StringBuilder();
        sb.AppendLine("### Reset per layer").AppendLine();
        WriteMarkdown(sb, LayerHeader, LayerRows(summary));
        sb.AppendLine().AppendLine("### Reset per tensor").AppendLine();
        WriteMarkdown(sb, TensorHeader, TensorRows(summary));
        sb.AppendLine().AppendLine(OverallLine(summary));
        return sb.ToString();
    }

    /// <summary>Two <c>&lt;table&gt;</c> elements and the overall line; every cell is HTML-encoded.</summary>
    public static string ToHtml(ResetSummary summary)
    {
        var sb = new StringBuilder();
        sb.AppendLine("<h3>Reset per layer</h3>");
        WriteHtml(sb, LayerHeader, LayerRows(summary));
        sb.AppendLine("<h3>Reset per tensor</h3>");
        WriteHtml(sb, TensorHeader, TensorRows(summary));
        sb.Append("<p>").Append(WebUtility.HtmlEncode(OverallLine(summary))).AppendLine("</p>");
        return sb.ToString();
    }

    /// <summary>The one-line verdict: overall reset share, plus heads stored whole.</summary>
    public static string OverallLine(ResetSummary summary)
    {
        var o = summary.Overall;
        string line = string.Create(CultureInfo.InvariantCulture, $"overall: {o.ResetCount:N0} of {o.Elements:N0} base positions reset ({100 * o.ResetFraction:F1} %) across {o.TensorCount} tensors");
        if (summary.HeadTensorCount > 0)
        {
            line += string.Create(CultureInfo.InvariantCulture, $"; {summary.HeadTensorCount} head tensors ({summary.HeadElements:N0} values) stored whole");
        }

        return line;
    }

    private static List<string[]> LayerRows(ResetSummary summary)
    {
        var rows = new List<string[]>();
        foreach (var g in summary.Layers)
        {
            rows.Add([g.Name, Count(g.TensorCount), Count(g.Elements), Count(g.Kept), Percent(g.ResetFraction)]);
        }

        var o = summary.Overall;
        rows.Add([o.Name, Count(o.TensorCount), Count(o.Elements), Count(o.Kept), Percent(o.ResetFraction)]);
        return rows;
    }

    private static List<string[]> TensorRows(ResetSummary summary)
    {
        var rows = new List<string[]>();
        foreach (var t in summary.Tensors)
        {
            rows.Add([t.InDelta ? t.Name : t.Name + " (not patched)", t.Layer, Count(t.Elements), Count(t.Kept), Percent(t.ResetFraction)]);
        }

        return rows;
    }

    private static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static string Percent(double fraction) => (100 * fraction).ToString("F1", CultureInfo.InvariantCulture);

    private static void WriteText(StringBuilder sb, string[] header, List<string[]> rows)
    {
        var widths = new int[header.Length];
        for (int c = 0; c < header.Length; c++)
        {
            widths[c] = header[c].Length;
            foreach (var row in rows)
            {
                widths[c] = Math.Max(widths[c], row[c].Length);
            }
        }

        WriteTextRow(sb, header, widths);
        foreach (var row in rows)
        {
            WriteTextRow(sb, row, widths);
        }
    }

    private static void WriteTextRow(StringBuilder sb, string[] cells, int[] widths)
    {
        for (int c = 0; c < cells.Length; c++)
        {
            // First column is a name (left-aligned); the rest are numbers (right-aligned).
            sb.Append(c == 0 ? cells[c].PadRight(widths[c]) : "  " + cells[c].PadLeft(widths[c]));
        }

        sb.AppendLine();
    }

    private static void WriteMarkdown(StringBuilder sb, string[] header, List<string[]> rows)
    {
        sb.Append("| ").AppendJoin(" | ", header).AppendLine(" |");
        sb.Append("|---|").Append(string.Concat(Enumerable.Repeat("---:|", header.Length - 1))).AppendLine();
        foreach (var row in rows)
        {
            sb.Append("| ").AppendJoin(" | ", row.Select(c => c.Replace("|", "\\|", StringComparison.Ordinal))).AppendLine(" |");
        }
    }

    private static void WriteHtml(StringBuilder sb, string[] header, List<string[]> rows)
    {
        sb.AppendLine("<table>");
        sb.Append("<tr>");
        foreach (var h in header)
        {
            sb.Append("<th>").Append(WebUtility.HtmlEncode(h)).Append("</th>");
        }

        sb.AppendLine("</tr>");
        foreach (var row in rows)
        {
            sb.Append("<tr>");
            for (int c = 0; c < row.Length; c++)
            {
                sb.Append(c == 0 ? "<td>" : "<td class=\"n\">").Append(WebUtility.HtmlEncode(row[c])).Append("</td>");
            }

            sb.AppendLine("</tr>");
        }

        sb.AppendLine("</table>");
    }
}
