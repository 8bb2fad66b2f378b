using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Ken.Cli.Terminal;
using Ken.Format.Checkpoints;
using Ken.Format.Deltas;
using Ken.Pruning.Pipeline;

namespace Ken.Cli.Commands;

/// <summary><c>ken apply</c>: base + delta → the KEN-reconstructed full weights as safetensors.</summary>
internal static class ApplyCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var baseOption = new Option<string>("--base") { Description = "The base the delta was built against: .safetensors, .onnx, model folder, or minilm / arctic-xs.", Required = true };
        var deltaOption = new Option<string>("--delta") { Description = "A .ken task delta.", Required = true };
        var outputOption = new Option<string>("--output", "-o") { Description = "Output .safetensors file (float32, canonical names, heads included).", Required = true };
        var command = new Command("apply", "Write the KEN-reconstructed weights of a task (base everywhere, fine-tuned at kept positions).")
        {
            baseOption, deltaOption, outputOption,
        };
        command.SetAction(parse =>
        {
            string output = Path.GetFullPath(parse.GetRequiredValue(outputOption));
            OutputPaths.EnsureFolderExists(output);
            var watch = Stopwatch.StartNew();
            var delta = KenDeltaReader.Read(parse.GetRequiredValue(deltaOption));
            using var baseModel = CheckpointLoader.Open(parse.GetRequiredValue(baseOption));
            using (var bar = new ProgressBar(stderr, "apply"))
            {
                DeltaApplier.Apply(baseModel, delta, output, bar.For<PruneProgress>(p => (p.ElementsDone, p.ElementsTotal, p.CurrentTensor)));
            }

            stdout.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"wrote {output}: {baseModel.Tensors.Count} base tensors ({delta.PatchedTensors.Count} patched) + {delta.HeadTensors.Count} head tensors, {Bytes.Format(new FileInfo(output).Length)}, in {watch.Elapsed.TotalSeconds:F1} s"));
            return CommandLineApp.Success;
        });
        return command;
    }
}
