using System.Text.RegularExpressions;
using Ken.TestSupport;
using Ken.Viz;

namespace Ken.Cli.Tests;

/// <summary><c>ken viz</c> on a delta pruned from the tiny checkpoint pair.</summary>
public sealed partial class VizCommandTests : IDisposable
{
    private readonly TempDirectory dir = new();

    public void Dispose() => dir.Dispose();

    private string Delta()
    {
        var b = TinyCheckpoint.Random(seed: 1);
        var f = TinyCheckpoint.Perturb(b, seed: 2);
        string bp = dir.File("base.safetensors");
        string fp = dir.File("ft.safetensors");
        TinyCheckpoint.Write(bp, b);
        TinyCheckpoint.Write(fp, f);
        string delta = dir.File("t.ken");
        var r = CliRunner.Run("prune", "--base", bp, "--finetuned", fp, "--k", "2", "-o", delta, "--kind", "embedding");
        Assert.True(r.ExitCode == 0, r.Stderr);
        return delta;
    }

    [Fact]
    public void Html_output_is_one_page_with_every_view_inlined()
    {
        Assert.SkipUnless(VizFonts.Available, "No fonts installed; KENviz refuses to render without them.");
        string delta = Delta();
        string html = dir.File("viz.html");

        var r = CliRunner.Run("viz", delta, "--tensor", "encoder.layer.*.dense.weight", "-o", html);

        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("wrote " + html, r.Stdout, StringComparison.Ordinal);
        string page = File.ReadAllText(html);
        Assert.Equal(4, DataUri().Count(page));
        Assert.Contains("<h3>Reset per layer</h3>", page, StringComparison.Ordinal);
    }

    [Fact]
    public void Png_output_with_all_views_writes_one_file_per_view()
    {
        Assert.SkipUnless(VizFonts.Available, "No fonts installed; KENviz refuses to render without them.");
        string delta = Delta();

        var r = CliRunner.Run("viz", delta, "--view", "all", "-o", dir.File("v.png"));

        Assert.True(r.ExitCode == 0, r.Stderr);
        foreach (var view in new[] { "matrix", "neighbors", "layers", "summary" })
        {
            Assert.True(File.Exists(dir.File($"v-{view}.png")), view);
        }
    }

    [Fact]
    public void Markdown_output_holds_the_summary_tables()
    {
        string delta = Delta();
        string md = dir.File("summary.md");

        var r = CliRunner.Run("viz", delta, "-o", md);

        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("| encoder.layer.0.dense.weight | layer 0 | 20 | 10 | 50.0 |", File.ReadAllText(md), StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_tensor_is_a_one_line_error_listing_available_names()
    {
        string delta = Delta();

        var r = CliRunner.Run("viz", delta, "--tensor", "nope.weight", "-o", dir.File("x.png"));

        Assert.Equal(1, r.ExitCode);
        Assert.Contains("no patched tensor matches 'nope.weight'", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("encoder.layer.0.dense.weight", r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("x.png")));
    }

    [Fact]
    public void An_output_of_unknown_format_is_a_usage_error()
    {
        var r = CliRunner.Run("viz", dir.File("missing.ken"), "-o", dir.File("x.jpg"));

        Assert.Equal(2, r.ExitCode);
        Assert.Contains(".png, .html, .md or .txt", r.Stderr, StringComparison.Ordinal);
    }

    [GeneratedRegex("src=\"data:image/png;base64,")]
    private static partial Regex DataUri();
}
