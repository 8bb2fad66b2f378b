using System.Diagnostics;

namespace Ken.Server.Tests.Soak;

/// <summary>This process's resident memory, thread count and open files, sampled over time, and their least-squares slopes.</summary>
internal sealed class ProcessGauges
{
    private readonly List<(double Seconds, double RssMiB, double Threads, double Files)> _samples = [];

    public int Count => _samples.Count;

    public void Sample(double seconds)
    {
        using var self = Process.GetCurrentProcess();
        var files = Directory.Exists("/proc/self/fd") ? Directory.GetFiles("/proc/self/fd").Length : 0;
        _samples.Add((seconds, self.WorkingSet64 / (1024.0 * 1024.0), self.Threads.Count, files));
    }

    public double RssSlope => Slope(s => s.RssMiB);

    public double ThreadSlope => Slope(s => s.Threads);

    public double FileSlope => Slope(s => s.Files);

    public string Summary() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{Count} samples; RSS {_samples[0].RssMiB:F0} -> {_samples[^1].RssMiB:F0} MiB ({RssSlope:F3} MiB/s), threads {_samples[0].Threads} -> {_samples[^1].Threads} ({ThreadSlope:F3}/s), open files {_samples[0].Files} -> {_samples[^1].Files} ({FileSlope:F3}/s)");

    private double Slope(Func<(double Seconds, double RssMiB, double Threads, double Files), double> value)
    {
        var n = _samples.Count;
        var meanX = _samples.Average(s => s.Seconds);
        var meanY = _samples.Average(value);
        double num = 0, den = 0;
        foreach (var s in _samples)
        {
            num += (s.Seconds - meanX) * (value(s) - meanY);
            den += (s.Seconds - meanX) * (s.Seconds - meanX);
        }

        return n < 2 || den == 0 ? 0 : num / den;
    }
}
