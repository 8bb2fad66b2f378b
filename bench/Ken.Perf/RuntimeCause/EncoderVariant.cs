using System.Diagnostics;
using System.Runtime.InteropServices;
using Ken.Runtime.Backbone;
using Ken.Runtime.Tokenization;
using Microsoft.ML.OnnxRuntime;

namespace Ken.Perf.RuntimeCause;

/// <summary>
/// One way of running the backbone for <c>ken-perf runtime-cause</c>: a model (original, or with its
/// weights promoted to inputs and bound from Ken's buffers) under one set of session options, run
/// through an <see cref="OrtIoBinding"/> exactly as Ken runs a slot.
/// </summary>
internal sealed class EncoderVariant : IDisposable
{
    private const string LastHiddenState = "last_hidden_state";

    private readonly SessionOptions _options;
    private readonly InferenceSession _session;
    private readonly OrtIoBinding _binding;
    private readonly RunOptions _runOptions = new();
    private readonly bool _hasTokenTypes;

    private EncoderVariant(string name, SessionOptions options, InferenceSession session, OrtIoBinding binding)
    {
        Name = name;
        _options = options;
        _session = session;
        _binding = binding;
        _hasTokenTypes = session.InputMetadata.ContainsKey("token_type_ids");
    }

    public string Name { get; }

    /// <summary>Intra-op threads of every variant created from now on; null keeps ONNX Runtime's default (one per core).</summary>
    public static int? IntraOpThreads { get; set; }

    /// <param name="weights">The bound weights when <paramref name="model"/> takes them as inputs; null for the original model.</param>
    /// <param name="prepacking">False sets <c>session.disable_prepacking</c>: MLAS then packs MatMul weights on every run, as it must for weights that are inputs.</param>
    /// <param name="optimizedModelPath">Where ONNX Runtime writes the graph it optimized, or null.</param>
    /// <param name="profilePrefix">Turns on ONNX Runtime's profiler with this file prefix, or null.</param>
    public static EncoderVariant Create(
        string name, byte[] model, GraphOptimizationLevel level, bool prepacking, WeightBinding? weights, string? optimizedModelPath = null, string? profilePrefix = null)
    {
        var options = new SessionOptions { GraphOptimizationLevel = level };
        if (IntraOpThreads is { } threads)
        {
            options.IntraOpNumThreads = threads;
        }

        InferenceSession? session = null;
        try
        {
            if (!prepacking)
            {
                options.AddSessionConfigEntry("session.disable_prepacking", "1");
            }

            if (optimizedModelPath is not null)
            {
                options.OptimizedModelFilePath = optimizedModelPath;
            }

            if (profilePrefix is not null)
            {
                // The prefix must be set before profiling is switched on, which reads it.
                options.ProfileOutputPathPrefix = profilePrefix;
                options.EnableProfiling = true;
            }

            session = new InferenceSession(model, options);
            var binding = session.CreateIoBinding();
            weights?.BindTo(binding);
            return new EncoderVariant(name, options, session, binding);
        }
        catch
        {
            session?.Dispose();
            options.Dispose();
            throw;
        }
    }

    /// <summary>Runs <paramref name="batch"/> once and returns the wall time of the run alone.</summary>
    public TimeSpan Run(TokenizedBatch batch)
    {
        long[] shape = [batch.BatchSize, batch.SequenceLength];
        var info = OrtMemoryInfo.DefaultInstance;
        using var ids = OrtValue.CreateTensorValueFromMemory(info, MemoryMarshal.AsMemory(batch.InputIds), shape);
        using var mask = OrtValue.CreateTensorValueFromMemory(info, MemoryMarshal.AsMemory(batch.AttentionMask), shape);
        using var types = OrtValue.CreateTensorValueFromMemory(info, MemoryMarshal.AsMemory(batch.TokenTypeIds), shape);
        _binding.BindInput("input_ids", ids);
        _binding.BindInput("attention_mask", mask);
        if (_hasTokenTypes)
        {
            _binding.BindInput("token_type_ids", types);
        }

        _binding.BindOutputToDevice(LastHiddenState, info);
        var start = Stopwatch.GetTimestamp();
        _session.RunWithBinding(_runOptions, _binding);
        var elapsed = Stopwatch.GetElapsedTime(start);
        _binding.ClearBoundOutputs();
        return elapsed;
    }

    /// <summary>Stops the profiler and returns the path of its JSON file.</summary>
    public string EndProfiling() => _session.EndProfiling();

    public void Dispose()
    {
        _binding.Dispose();
        _session.Dispose();
        _options.Dispose();
        _runOptions.Dispose();
    }
}
