using Ken.Cli.Terminal;

using Xunit;

namespace Ken.Cli.Tests;

public sealed class ProgressBarTests
{
    [Fact]
    public void Redirected_progress_writes_plain_lines_once_the_interval_has_passed()
    {
        var output = new StringWriter();
        using (var bar = new ProgressBar(output, "finetune", ProgressStyle.Lines, TimeSpan.Zero))
        {
            bar.Report(1, 4, "loss 0.7");
            bar.Report(4, 4, "loss 0.2");
            bar.Report(4, 4, "loss 0.2");
        }

        Assert.Equal(["finetune: 25.0% loss 0.7", "finetune: 100.0% loss 0.2"], output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain('\r', output.ToString());
    }

    [Fact]
    public void Redirected_progress_of_work_shorter_than_the_interval_writes_nothing()
    {
        var output = new StringWriter();
        using (var bar = new ProgressBar(output, "prune", ProgressStyle.Lines, TimeSpan.FromHours(1)))
        {
            bar.Report(1, 2, "a");
            bar.Report(2, 2, "b");
        }

        Assert.Equal(string.Empty, output.ToString());
    }

    [Fact]
    public void A_terminal_bar_redraws_in_place_and_clears_itself()
    {
        var output = new StringWriter();
        using (var bar = new ProgressBar(output, "eval", ProgressStyle.Bar, TimeSpan.Zero))
        {
            bar.Report(1, 2, "spam");
        }

        string text = output.ToString();
        Assert.StartsWith("\reval [###############---------------]  50.0% spam", text, StringComparison.Ordinal);
        Assert.EndsWith("\r", text, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', text);
    }

    [Fact]
    public void A_writer_other_than_standard_error_gets_no_progress()
    {
        var output = new StringWriter();
        using (var bar = new ProgressBar(output, "apply"))
        {
            bar.Report(1, 2, "x");
            bar.Report(2, 2, "y");
        }

        Assert.Equal(string.Empty, output.ToString());
    }
}
