namespace Ken.Viz;

/// <summary>One line of a line chart: a name for the legend and its points, in drawing order.</summary>
public sealed record PlotSeries(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y);
