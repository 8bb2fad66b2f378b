using Ken.Format;
using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Safetensors;
using Ken.Format.Deltas;
using Ken.Format.IO;

namespace Ken.Pruning.Pipeline;

/// <summary>
/// Reconstructs a task's full weights: every base tensor, with the delta's kept fine-tuned values
/// written at its masked positions, followed by the delta's head tensors; float32 safetensors.
/// </summary>
public static class DeltaApplier
{
    public static void Apply(ICheckpoint baseModel, KenDelta delta, string outputPath, IProgress<PruneProgress>? progress = null)
    {
        DeltaCompatibility.EnsureShapes(baseModel, delta);
        var patches = new Dictionary<string, PatchedTensor>(StringComparer.Ordinal);
        foreach (var t in delta.PatchedTensors)
        {
            patches[t.Name] = t;
        }

        var declarations = new List<SafetensorsDeclaration>(baseModel.Tensors.Count + delta.HeadTensors.Count);
        long total = 0;
        foreach (var info in baseModel.Tensors)
        {
            declarations.Add(new SafetensorsDeclaration(info.Name, TensorDType.F32, info.Shape));
            total += info.ElementCount;
        }

        foreach (var head in delta.HeadTensors)
        {
            if (baseModel.TryGetInfo(head.Name, out _))
            {
                throw new KenException(
                    $"delta '{delta.Metadata.Task}' stores head tensor {head.Name} whole, but the base {baseModel.Source} also has a tensor of that name; "
                    + "rebuild the delta with ken prune against this base.");
            }

            declarations.Add(new SafetensorsDeclaration(head.Name, TensorDType.F32, head.Shape));
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = "pt",
            ["ken.task"] = delta.Metadata.Task,
            ["ken.base"] = baseModel.Source,
        };

        AtomicFile.Write(outputPath, stream =>
        {
            var writer = new SafetensorsWriter(stream, declarations, metadata);
            float[] buffer = [];
            long done = 0;
            int tensorsDone = 0;
            foreach (var info in baseModel.Tensors)
            {
                progress?.Report(new PruneProgress(done, total, tensorsDone, baseModel.Tensors.Count, info.Name));
                int numel = checked((int)info.ElementCount);
                if (buffer.Length < numel)
                {
                    buffer = new float[numel];
                }

                var weights = buffer.AsSpan(0, numel);
                baseModel.ReadFloat32(info.Name, weights);
                if (patches.TryGetValue(info.Name, out var patch))
                {
                    DeltaCompatibility.EnsureFingerprint(delta, patch, weights, baseModel.Source);
                    patch.ApplyTo(weights);
                }

                writer.WriteEntry(info.Name, (ReadOnlySpan<float>)weights);
                done += numel;
                tensorsDone++;
            }

            foreach (var head in delta.HeadTensors)
            {
                writer.WriteEntry(head.Name, (ReadOnlySpan<float>)head.Data);
            }

            writer.Complete();
        });
    }
}
