using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Ken.Cli.Terminal;
using Ken.Format.Deltas;

namespace Ken.Cli.Commands;

/// <summary><c>ken inspect</c>: what a <c>.ken</c> delta holds and what it costs.</summary>
internal static class InspectCommand
{
    public static Command Create(TextWriter stdout)
    {
        var fileArgument = new Argument<string>("FILE") { Description = "A .ken task delta." };
        var jsonOption = new Option<bool>("--json") { Description = "Print JSON instead of tables." };
        var command = new Command("inspect", "Show a .ken delta's metadata, per-tensor kept fraction and size.") { fileArgument, jsonOption };
        command.SetAction(parse =>
        {
            string path = parse.GetRequiredValue(fileArgument);
            var delta = KenDeltaReader.Read(path);
            var report = DeltaReport.Create(delta, path, new FileInfo(path).Length);
            if (parse.GetValue(jsonOption))
            {
                stdout.WriteLine(JsonSerializer.Serialize(report, ReportJson.Options));
            }
            else
            {
                Print(report, stdout);
            }

            return CommandLineApp.Success;
        });
        return command;
    }

    private static void Print(DeltaReport report, TextWriter o)
    {
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine($"file       {report.File}");
        foreach (var (key, value) in report.Metadata)
        {
            if (!key.StartsWith("base.", StringComparison.Ordinal))
            {
                o.WriteLine($"{key,-10} {value}");
            }
        }

        o.WriteLine();
        var table = new TextTable("tensor", "shape", "kept", "kept %", "bytes");
        foreach (var t in report.Tensors)
        {
            table.Add(t.Name, t.Shape, t.Kept.ToString("N0", inv), (100 * t.KeptFraction).ToString("F1", inv), Bytes.Format(t.Bytes));
        }

        foreach (var h in report.Heads)
        {
            table.Add("head/" + h.Name, h.Shape, h.Elements.ToString("N0", inv), "100.0", Bytes.Format(h.Bytes));
        }

        table.Write(o);
        o.WriteLine();
        o.WriteLine(string.Create(inv, $"patched parameters  {report.PatchedParameters:N0}, kept {report.KeptParameters:N0} ({100 * report.KeptFraction:F1} %), reset {100 * (1 - report.KeptFraction):F1} %"));
        o.WriteLine(string.Create(inv, $"file size           {Bytes.Format(report.FileBytes)} versus {Bytes.Format(report.DenseBytes)} dense fine-tuned tensors ({100.0 * report.FileBytes / Math.Max(1, report.DenseBytes):F1} %)"));
    }
}
