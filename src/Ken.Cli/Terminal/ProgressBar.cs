using System.Diagnostics;
using System.Globalization;

namespace Ken.Cli.Terminal;

/// <summary>
/// A one-line progress bar on standard error, drawn only when standard error is a terminal (scripts
/// and logs stay clean), redrawn at most ten times a second.
/// </summary>
internal sealed class ProgressBar : IDisposable
{
    private const int Width = 30;
    private readonly TextWriter writer;
    private readonly string label;
    private readonly bool enabled;
    private readonly Stopwatch sinceDraw = Stopwatch.StartNew();
    private readonly Lock gate = new();
    private bool drawn;

    public ProgressBar(TextWriter writer, string label)
    {
        this.writer = writer;
        this.label = label;
        enabled = ReferenceEquals(writer, Console.Error) && !Console.IsErrorRedirected;
    }

    public IProgress<T> For<T>(Func<T, (long Done, long Total, string Item)> map) =>
        new SynchronousProgress<T>(p =>
        {
            var (done, total, item) = map(p);
            Report(done, total, item);
        });

    public void Report(long done, long total, string item)
    {
        if (!enabled)
        {
            return;
        }

        lock (gate)
        {
            if (done < total && drawn && sinceDraw.ElapsedMilliseconds < 100)
            {
                return;
            }

            sinceDraw.Restart();
            double fraction = total <= 0 ? 1 : Math.Clamp(done / (double)total, 0, 1);
            int filled = (int)(fraction * Width);
            string bar = new string('#', filled) + new string('-', Width - filled);
            string shown = item.Length > 48 ? "..." + item[^45..] : item;
            writer.Write(string.Create(CultureInfo.InvariantCulture, $"\r{label} [{bar}] {fraction * 100,5:F1}% {shown,-48}"));
            drawn = true;
        }
    }

    public void Dispose()
    {
        if (enabled && drawn)
        {
            writer.Write("\r" + new string(' ', label.Length + Width + 60) + "\r");
        }
    }

    private sealed class SynchronousProgress<T>(Action<T> handler) : IProgress<T>
    {
        public void Report(T value) => handler(value);
    }
}
