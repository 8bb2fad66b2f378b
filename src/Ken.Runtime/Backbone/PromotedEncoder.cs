using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Onnx;
using Ken.Runtime.Patching;
using Microsoft.ML.OnnxRuntime;
using SessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;

namespace Ken.Runtime.Backbone;

/// <summary>
/// The backbone with every float32 initializer promoted to a graph input: one session that any number
/// of weight sets can be bound to, the pristine weights read once, and their canonical fingerprints.
/// Shared by the patch and resident backends, which differ only in how many weight sets they bind.
/// </summary>
internal sealed class PromotedEncoder : IDisposable
{
    private PromotedEncoder(BackboneTensor[] tensors, WeightSet pristine, SessionOptions sessionOptions, InferenceSession session, EncoderPipeline pipeline)
    {
        Tensors = tensors;
        TensorsByName = BackboneWeights.ByName(tensors);
        Pristine = pristine;
        SessionOptions = sessionOptions;
        Session = session;
        Pipeline = pipeline;
    }

    public BackboneTensor[] Tensors { get; }

    public IReadOnlyDictionary<string, BackboneTensor> TensorsByName { get; }

    /// <summary>The base weights, never patched: restores read them and the base binds them.</summary>
    public WeightSet Pristine { get; }

    public SessionOptions SessionOptions { get; }

    public InferenceSession Session { get; }

    public EncoderPipeline Pipeline { get; }

    /// <summary>
    /// Loads an encoder for <paramref name="options"/> and builds a backend on it; the encoder is
    /// disposed when the backend cannot be built.
    /// </summary>
    public static T LoadBackend<T>(BackboneOptions options, Func<PromotedEncoder, T> create) => LoadBackend(options, configureSession: null, create);

    /// <summary>
    /// As <see cref="LoadBackend{T}(BackboneOptions, Func{PromotedEncoder, T})"/>, with
    /// <paramref name="configureSession"/> adding to the session options (an execution provider) before the
    /// session is created.
    /// </summary>
    public static T LoadBackend<T>(BackboneOptions options, Action<SessionOptions>? configureSession, Func<PromotedEncoder, T> create)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(create);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Slots, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchSize, 1);
        var encoder = Load(options, configureSession);
        try
        {
            return create(encoder);
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
    }

    public static PromotedEncoder Load(BackboneOptions options, Action<SessionOptions>? configureSession = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var checkpoint = OnnxCheckpoint.Open(options.ModelPath);
        var (tensors, pristine) = BackboneWeights.Read(checkpoint);
        SessionOptions? sessionOptions = null;
        InferenceSession? session = null;
        try
        {
            var onnxNames = new string[tensors.Length];
            for (var i = 0; i < tensors.Length; i++)
            {
                onnxNames[i] = tensors[i].Mapping.OnnxName;
            }

            var model = OnnxModelRewriter.PromoteInitializersToInputs(checkpoint, onnxNames);
            sessionOptions = BackboneWeights.CreateSessionOptions(options);
            configureSession?.Invoke(sessionOptions);
            session = new InferenceSession(model, sessionOptions);
            var pipeline = EncoderPipeline.Create(options, session, onnxNames, EncoderPipeline.PositionRows(checkpoint));
            return new PromotedEncoder(tensors, pristine, sessionOptions, session, pipeline);
        }
        catch
        {
            session?.Dispose();
            sessionOptions?.Dispose();
            pristine.Dispose();
            throw;
        }
    }

    /// <summary>A new weight set holding a copy of the pristine weights, in the same layout.</summary>
    public WeightSet CopyPristine()
    {
        var counts = new long[Tensors.Length];
        for (var i = 0; i < counts.Length; i++)
        {
            counts[i] = Tensors[i].ElementCount;
        }

        var weights = new WeightSet(counts);
        weights.CopyFrom(Pristine);
        return weights;
    }

    public void Dispose()
    {
        Pipeline.Dispose();
        Session.Dispose();
        SessionOptions.Dispose();
        Pristine.Dispose();
    }
}
