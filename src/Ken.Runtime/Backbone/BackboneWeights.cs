using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Onnx;
using Ken.Format.Deltas;
using Ken.Runtime.Patching;
using Microsoft.ML.OnnxRuntime;
using SessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;

namespace Ken.Runtime.Backbone;

/// <summary>Reading the backbone's weights and fingerprints, and the session options every backend uses.</summary>
internal static class BackboneWeights
{
    /// <summary>
    /// Reads every float32 weight in the graph's physical layout and fingerprints it in canonical
    /// layout (what a delta was built against).
    /// </summary>
    public static (BackboneTensor[] Tensors, WeightSet Pristine) Read(OnnxCheckpoint checkpoint)
    {
        var mappings = new List<OnnxTensorMapping>();
        foreach (var mapping in checkpoint.Mappings)
        {
            // Half-precision weights would need half-precision buffers and patches; they stay initializers.
            if (mapping.Info.DType == TensorDType.F32)
            {
                mappings.Add(mapping);
            }
        }

        var counts = new long[mappings.Count];
        for (var i = 0; i < counts.Length; i++)
        {
            counts[i] = mappings[i].Info.ElementCount;
        }

        var pristine = new WeightSet(counts);
        try
        {
            var tensors = new BackboneTensor[mappings.Count];
            float[] canonical = [];
            for (var i = 0; i < tensors.Length; i++)
            {
                var mapping = mappings[i];
                var buffer = pristine.Tensor(i);
                checkpoint.ReadFloat32OnnxLayout(mapping.CanonicalName, buffer);
                ulong fingerprint;
                if (mapping.Transposed)
                {
                    if (canonical.Length < buffer.Length)
                    {
                        canonical = new float[buffer.Length];
                    }

                    var target = canonical.AsSpan(0, buffer.Length);
                    MatrixTranspose.Transpose(buffer, target, (int)mapping.OnnxShape[0], (int)mapping.OnnxShape[1]);
                    fingerprint = TensorFingerprint.Compute(target);
                }
                else
                {
                    fingerprint = TensorFingerprint.Compute(buffer);
                }

                tensors[i] = new BackboneTensor(i, mapping, fingerprint);
            }

            return (tensors, pristine);
        }
        catch
        {
            pristine.Dispose();
            throw;
        }
    }

    public static SessionOptions CreateSessionOptions(BackboneOptions options)
    {
        var sessionOptions = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        if (options.IntraOpThreads is { } threads)
        {
            sessionOptions.IntraOpNumThreads = threads;
        }

        return sessionOptions;
    }

    public static Dictionary<string, BackboneTensor> ByName(IReadOnlyList<BackboneTensor> tensors)
    {
        var byName = new Dictionary<string, BackboneTensor>(tensors.Count, StringComparer.Ordinal);
        foreach (var tensor in tensors)
        {
            byName[tensor.Name] = tensor;
        }

        return byName;
    }
}
