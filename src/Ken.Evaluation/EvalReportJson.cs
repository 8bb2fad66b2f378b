using System.Text;
using System.Text.Json;
using Ken.Format.Deltas;

namespace Ken.Evaluation;

/// <summary>The machine-readable form of an <see cref="EvalReport"/> (<c>ken eval --json</c>).</summary>
public static class EvalReportJson
{
    public static string Serialize(EvalReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("base", report.BaseModel);
            w.WriteString("finetuned", report.Finetuned);
            w.WriteString("kind", KenDeltaMetadata.ToText(report.Kind));
            w.WriteStartArray("labels");
            foreach (var label in report.Labels)
            {
                w.WriteStringValue(label);
            }

            w.WriteEndArray();
            w.WriteNumber("examples", report.Examples);
            w.WriteNumber("max_length", report.MaxSequenceLength);
            w.WriteNumber("seed", report.Seed);
            w.WriteStartArray("results");
            foreach (var r in report.Results)
            {
                w.WriteStartObject();
                w.WriteString("method", r.Method);
                w.WriteNumber("block", r.Block);
                if (r.Budget.K is { } k)
                {
                    w.WriteNumber("k", k);
                }
                else
                {
                    w.WriteNumber("keep", r.Budget.Keep!.Value);
                }

                w.WriteNumber("fraction_reset", r.FractionReset);
                w.WriteNumber("ken_bytes", r.KenBytes);
                w.WriteNumber("reconstruction_error", r.ReconstructionError);
                WriteOptional(w, "accuracy", r.Accuracy);
                WriteOptional(w, "macro_f1", r.MacroF1);
                WriteOptional(w, "mean_cosine", r.MeanCosine);
                WriteOptional(w, "min_cosine", r.MinCosine);
                w.WriteNumber("prune_seconds", Math.Round(r.PruneSeconds, 3));
                w.WriteNumber("run_seconds", Math.Round(r.RunSeconds, 3));
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static void WriteOptional(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
    }
}
