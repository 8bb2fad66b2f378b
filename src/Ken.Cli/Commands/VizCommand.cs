using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Ken.Cli.Terminal;
using Ken.Format.Checkpoints;
using Ken.Format.Deltas;
using Ken.Viz;

namespace Ken.Cli.Commands;

/// <summary><c>ken viz</c>: KENviz pictures of which positions a delta keeps, as PNG, Markdown/text tables or one HTML page.</summary>
internal static class VizCommand
{
    private static readonly VizView[] AllViews = [VizView.Matrix, VizView.Neighbors, VizView.Layers, VizView.Summary];

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var deltaArgument = new Argument<string>("DELTA") { Description = "A .ken task delta." };
        var tensorOption = new Option<string?>("--tensor", "-t") { Description = "Tensor name or glob (* spans dots), e.g. 'encoder.layer.*.attention.self.query.weight'. Default: the delta's first matrix." };
        var baseOption = new Option<string?>("--base") { Description = "The base model (.safetensors, .onnx, folder, minilm / arctic-xs): the summary then also counts base tensors the delta leaves pre-trained." };
        var outputOption = new Option<string>("--output", "-o") { Description = "OUT.png (one view; with --view all one file per view, OUT-VIEW.png), OUT.html (one self-contained page), or OUT.md / OUT.txt (summary tables).", Required = true };
        var viewOption = new Option<string?>("--view") { Description = "matrix, neighbors, layers, summary or all (default: all for HTML, matrix for PNG, summary for .md/.txt)." };
        viewOption.AcceptOnlyFromAmong("matrix", "neighbors", "layers", "summary", "all");
        var htmlOption = new Option<bool>("--html") { Description = "Write one self-contained HTML page whatever the output's extension." };
        var maxPixelsOption = new Option<int>("--max-pixels") { Description = "Heatmap cells per side at most; larger matrices show the kept fraction of each block.", DefaultValueFactory = _ => KenVizRenderer.DefaultMaxCells };
        var command = new Command("viz", "KENviz: show which positions of a delta keep their fine-tuned values (matrix, neighbour, layer-wise and summary views).")
        {
            deltaArgument, tensorOption, baseOption, outputOption, viewOption, htmlOption, maxPixelsOption,
        };
        command.SetAction(parse =>
        {
            var watch = Stopwatch.StartNew();
            string output = Path.GetFullPath(parse.GetRequiredValue(outputOption));
            int maxPixels = parse.GetValue(maxPixelsOption);
            if (maxPixels < 8)
            {
                throw new UsageException($"--max-pixels is {maxPixels}; give at least 8 cells per side.");
            }

            var format = OutputFormat(output, parse.GetValue(htmlOption));
            var views = Views(parse.GetValue(viewOption), format);
            OutputPaths.EnsureFolderExists(output);
            VizFonts.EnsureAvailable();

            string deltaPath = parse.GetRequiredValue(deltaArgument);
            var delta = KenDeltaReader.Read(deltaPath);
            string? tensorPattern = parse.GetValue(tensorOption);
            var rendered = new List<(VizView View, byte[]? Png, string? Html)>();
            ResetSummary? summary = null;
            foreach (var view in views)
            {
                stderr.WriteLine($"viz: rendering {Name(view)} view...");
                switch (view)
                {
                    case VizView.Matrix:
                        rendered.Add((view, KenVizRenderer.MatrixView(MaskMatrix.From(Single(delta, tensorPattern, stderr)), maxPixels), null));
                        break;
                    case VizView.Neighbors:
                        rendered.Add((view, KenVizRenderer.NeighborView(MaskMatrix.From(Single(delta, tensorPattern, stderr))), null));
                        break;
                    case VizView.Layers:
                        var matrices = LayerSet(delta, tensorPattern).Select(MaskMatrix.From).ToList();
                        rendered.Add((view, KenVizRenderer.LayerGrid(matrices, Math.Min(maxPixels, KenVizRenderer.DefaultLayerMaxCells)), null));
                        break;
                    case VizView.Summary:
                        summary = Summary(delta, parse.GetValue(baseOption));
                        rendered.Add((view, format is Format.Markdown or Format.Text ? null : KenVizRenderer.SummaryChart(summary), ResetSummaryTables.ToHtml(summary)));
                        break;
                    default:
                        throw new UnreachableException();
                }
            }

            var written = Write(output, format, delta, deltaPath, rendered, summary);
            long bytes = written.Sum(f => new FileInfo(f).Length);
            string files = written.Count == 1 ? written[0] : $"{written.Count} files ({string.Join(", ", written.Select(Path.GetFileName))}) in {Path.GetDirectoryName(written[0])}";
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {files}: {string.Join(", ", views.Select(Name))} view(s), {Bytes.Format(bytes)}, in {watch.Elapsed.TotalSeconds:F1} s"));
            if (summary is not null)
            {
                stdout.WriteLine(ResetSummaryTables.OverallLine(summary));
            }

            return CommandLineApp.Success;
        });
        return command;
    }

    private enum Format
    {
        Png,
        Html,
        Markdown,
        Text,
    }

    private static Format OutputFormat(string output, bool html)
    {
        if (html)
        {
            return Format.Html;
        }

        return Path.GetExtension(output).ToUpperInvariant() switch
        {
            ".PNG" => Format.Png,
            ".HTML" or ".HTM" => Format.Html,
            ".MD" => Format.Markdown,
            ".TXT" => Format.Text,
            _ => throw new UsageException($"cannot tell the output format of {output}; name it .png, .html, .md or .txt, or pass --html."),
        };
    }

    private static VizView[] Views(string? view, Format format)
    {
        if (format is Format.Markdown or Format.Text)
        {
            return view is null or "summary"
                ? [VizView.Summary]
                : throw new UsageException($"a .md or .txt output holds the summary tables only, not the {view} view; write .png or .html for pictures.");
        }

        return view switch
        {
            null => format == Format.Html ? AllViews : [VizView.Matrix],
            "all" => AllViews,
            "matrix" => [VizView.Matrix],
            "neighbors" => [VizView.Neighbors],
            "layers" => [VizView.Layers],
            "summary" => [VizView.Summary],
            _ => throw new UsageException($"unknown view '{view}'; use matrix, neighbors, layers, summary or all."),
        };
    }

    private static string Name(VizView view) => view.ToString().ToLowerInvariant();

    private static PatchedTensor Single(KenDelta delta, string? pattern, TextWriter stderr)
    {
        if (pattern is null)
        {
            return VizTensorSelection.Default(delta);
        }

        var matches = VizTensorSelection.Select(delta, pattern);
        if (matches.Count > 1)
        {
            stderr.WriteLine($"viz: '{pattern}' matches {matches.Count} tensors; the single-matrix views show the first, {matches[0].Name}.");
        }

        return matches[0];
    }

    // A single name still gets a layer-wise view: the same matrix in every layer.
    private static IReadOnlyList<PatchedTensor> LayerSet(KenDelta delta, string? pattern)
    {
        var matches = pattern is null ? [VizTensorSelection.Default(delta)] : VizTensorSelection.Select(delta, pattern);
        return matches.Count == 1 ? VizTensorSelection.SameKind(delta, matches[0].Name) : matches;
    }

    private static ResetSummary Summary(KenDelta delta, string? basePath)
    {
        if (basePath is null)
        {
            return ResetSummary.Compute(delta);
        }

        using var baseModel = CheckpointLoader.Open(basePath);
        return ResetSummary.Compute(delta, baseModel.Tensors);
    }

    private static List<string> Write(string output, Format format, KenDelta delta, string deltaPath, List<(VizView View, byte[]? Png, string? Html)> rendered, ResetSummary? summary)
    {
        switch (format)
        {
            case Format.Html:
                var meta = delta.Metadata;
                string budget = meta.K is { } k ? $"k={k}" : string.Create(CultureInfo.InvariantCulture, $"keep={meta.Keep}");
                var facts = new List<string>
                {
                    $"delta: {Path.GetFileName(deltaPath)}, task '{meta.Task}' ({KenDeltaMetadata.ToText(meta.Kind)}), method {meta.Method}{PruneCommand.BlockSuffix(meta.Block ?? 1)}, {budget}",
                    $"{delta.PatchedTensors.Count} patched tensors, {delta.HeadTensors.Count} head tensors; written by {meta.CreatedBy}",
                };
                var sections = rendered.Select(r => new VizPageSection(Heading(r.View), VizExplanations.For(r.View), r.Png, r.Html)).ToList();
                File.WriteAllText(output, VizHtmlPage.Build($"KENviz: {meta.Task}", facts, sections));
                return [output];
            case Format.Markdown:
                File.WriteAllText(output, ResetSummaryTables.ToMarkdown(summary!));
                return [output];
            case Format.Text:
                File.WriteAllText(output, ResetSummaryTables.ToText(summary!));
                return [output];
            default:
                if (rendered.Count == 1)
                {
                    File.WriteAllBytes(output, rendered[0].Png!);
                    return [output];
                }

                string stem = Path.Combine(Path.GetDirectoryName(output)!, Path.GetFileNameWithoutExtension(output));
                var paths = new List<string>();
                foreach (var (view, png, _) in rendered)
                {
                    string path = $"{stem}-{Name(view)}.png";
                    File.WriteAllBytes(path, png!);
                    paths.Add(path);
                }

                return paths;
        }
    }

    private static string Heading(VizView view) => view switch
    {
        VizView.Matrix => "Kept positions in one matrix",
        VizView.Neighbors => "Kept neighbours of kept positions",
        VizView.Layers => "The same matrix across layers",
        VizView.Summary => "Reset share per layer and per tensor",
        _ => throw new UnreachableException(),
    };
}
