using Ken.Viz;
using ScottPlot;

namespace Ken.Cli.Bench;

/// <summary>Latency (p50, p99) and throughput per second of a bench run, on two y axes.</summary>
internal static class BenchPlot
{
    public static void Save(BenchReport report, string path)
    {
        VizFonts.EnsureAvailable();
        var plot = new Plot();
        double[] seconds = [.. report.Timeline.Select(p => p.Second + 0.5)];
        if (seconds.Length == 0)
        {
            seconds = [0];
        }

        double[] Series(Func<TimelinePoint, double> f) => report.Timeline.Count == 0 ? [0] : [.. report.Timeline.Select(f)];

        var p50 = plot.Add.Scatter(seconds, Series(p => p.P50Ms));
        p50.LegendText = "p50 latency (ms)";
        var p99 = plot.Add.Scatter(seconds, Series(p => p.P99Ms));
        p99.LegendText = "p99 latency (ms)";
        var throughput = plot.Add.Scatter(seconds, Series(p => p.Responses));
        throughput.LegendText = "throughput (req/s)";
        throughput.Axes.YAxis = plot.Axes.Right;
        plot.Axes.Bottom.Label.Text = "time since warm-up (s)";
        plot.Axes.Left.Label.Text = "latency (ms)";
        plot.Axes.Right.Label.Text = "throughput (req/s)";
        string load = report.Rate is { } rate ? $"open loop {rate:0.#} req/s" : $"closed loop, concurrency {report.Concurrency}";
        plot.Title($"ken bench: {report.Tasks.Count} task(s), {load}, batch {report.Batch}");
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SavePng(path, 1000, 500);
    }
}
