using System.Diagnostics;
using System.Globalization;

namespace Ken.Cli.Terminal;

/// <summary>
/// Progress of long work on standard error. On a terminal: a one-line bar, redrawn at most ten times a
/// second. When standard error is redirected (a log file, a Kubernetes job): a plain line at most every
/// 30 seconds, so short work prints nothing and long work (fine-tuning, recovery) shows it is alive.
/// Any other writer (tests capturing output) gets nothing.
/// </summary>
internal sealed class ProgressBar : IDisposable
{
    private const int Width = 30;
    private static readonly TimeSpan DefaultLineInterval = TimeSpan.FromSeconds(30);
    private readonly TextWriter writer;
    private readonly string label;
    private readonly ProgressStyle style;
    private readonly TimeSpan lineInterval;
    private readonly Stopwatch sinceDraw = Stopwatch.StartNew();
    private readonly Lock gate = new();
    private bool drawn;

    public ProgressBar(TextWriter writer, string label)
        : this(writer, label, !ReferenceEquals(writer, Console.Error) ? ProgressStyle.None : Console.IsErrorRedirected ? ProgressStyle.Lines : ProgressStyle.Bar, DefaultLineInterval)
    {
    }

    internal ProgressBar(TextWriter writer, string label, ProgressStyle style, TimeSpan lineInterval)
    {
        this.writer = writer;
        this.label = label;
        this.style = style;
        this.lineInterval = lineInterval;
    }

    public IProgress<T> For<T>(Func<T, (long Done, long Total, string Item)> map) =>
        new SynchronousProgress<T>(p =>
        {
            var (done, total, item) = map(p);
            Report(done, total, item);
        });

    public void Report(long done, long total, string item)
    {
        switch (style)
        {
            case ProgressStyle.Bar:
                DrawBar(done, total, item);
                break;
            case ProgressStyle.Lines:
                WriteLine(done, total, item);
                break;
            default:
                break;
        }
    }

    public void Dispose()
    {
        if (style == ProgressStyle.Bar && drawn)
        {
            writer.Write("\r" + new string(' ', label.Length + Width + 60) + "\r");
        }
    }

    private static double Fraction(long done, long total) => total <= 0 ? 1 : Math.Clamp(done / (double)total, 0, 1);

    private void DrawBar(long done, long total, string item)
    {
        lock (gate)
        {
            if (done < total && drawn && sinceDraw.ElapsedMilliseconds < 100)
            {
                return;
            }

            sinceDraw.Restart();
            double fraction = Fraction(done, total);
            int filled = (int)(fraction * Width);
            string bar = new string('#', filled) + new string('-', Width - filled);
            string shown = item.Length > 48 ? "..." + item[^45..] : item;
            writer.Write(string.Create(CultureInfo.InvariantCulture, $"\r{label} [{bar}] {fraction * 100,5:F1}% {shown,-48}"));
            drawn = true;
        }
    }

    private void WriteLine(long done, long total, string item)
    {
        lock (gate)
        {
            // The last report is written only when earlier lines were: work that ends inside the first interval stays silent.
            bool finished = done >= total;
            if (finished ? !drawn : sinceDraw.Elapsed < lineInterval)
            {
                return;
            }

            sinceDraw.Restart();
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{label}: {Fraction(done, total) * 100:F1}% {item}"));
            drawn = !finished;
        }
    }
}
