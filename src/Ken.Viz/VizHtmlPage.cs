using System.Net;
using System.Text;

namespace Ken.Viz;

/// <summary>
/// One self-contained HTML file: images inlined as base64 <c>data:</c> URIs and styles inline, so
/// the page can be mailed or attached to a ticket and still show everything offline.
/// </summary>
public static class VizHtmlPage
{
    public static string Build(string title, IReadOnlyList<string> facts, IReadOnlyList<VizPageSection> sections)
    {
        var sb = new StringBuilder();
        sb.AppendLine("<!DOCTYPE html>");
        sb.AppendLine("<html lang=\"en\"><head><meta charset=\"utf-8\">");
        sb.Append("<title>").Append(WebUtility.HtmlEncode(title)).AppendLine("</title>");
        sb.AppendLine("<style>body{font-family:sans-serif;max-width:1600px;margin:2em auto;padding:0 1em;color:#222}"
            + "img{max-width:100%;border:1px solid #ddd}table{border-collapse:collapse;margin:.5em 0}"
            + "td,th{border:1px solid #ccc;padding:2px 8px}td.n{text-align:right}th{background:#f2f2f2}"
            + "section{margin-bottom:2.5em}.facts{color:#555}</style>");
        sb.AppendLine("</head><body>");
        sb.Append("<h1>").Append(WebUtility.HtmlEncode(title)).AppendLine("</h1>");
        if (facts.Count > 0)
        {
            sb.AppendLine("<ul class=\"facts\">");
            foreach (var fact in facts)
            {
                sb.Append("<li>").Append(WebUtility.HtmlEncode(fact)).AppendLine("</li>");
            }

            sb.AppendLine("</ul>");
        }

        foreach (var section in sections)
        {
            sb.AppendLine("<section>");
            sb.Append("<h2>").Append(WebUtility.HtmlEncode(section.Heading)).AppendLine("</h2>");
            sb.Append("<p>").Append(WebUtility.HtmlEncode(section.Explanation)).AppendLine("</p>");
            if (section.Png is { } png)
            {
                sb.Append("<img alt=\"").Append(WebUtility.HtmlEncode(section.Heading)).Append("\" src=\"data:image/png;base64,")
                    .Append(Convert.ToBase64String(png)).AppendLine("\">");
            }

            if (section.HtmlFragment is { } fragment)
            {
                sb.AppendLine(fragment);
            }

            sb.AppendLine("</section>");
        }

        sb.AppendLine("</body></html>");
        return sb.ToString();
    }
}
