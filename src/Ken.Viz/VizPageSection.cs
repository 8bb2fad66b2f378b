namespace Ken.Viz;

/// <summary>One part of a KENviz HTML page: a heading, a sentence on how to read it, an optional PNG and an optional HTML fragment.</summary>
public sealed record VizPageSection(string Heading, string Explanation, byte[]? Png = null, string? HtmlFragment = null);
