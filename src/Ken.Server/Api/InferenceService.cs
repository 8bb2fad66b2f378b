using Ken.Runtime.Heads;
using Ken.Runtime.Tasks;

using Grpc.Core;

using Ken.Format;
using Ken.Format.Deltas;
using Ken.Server.Api.Validation;
using Ken.Server.Registry;
using Ken.Server.Scheduling;
using Ken.V1;

using TaskKind = Ken.Format.Deltas.TaskKind;

namespace Ken.Server.Api;

/// <summary>
/// The <c>ken.v1.Inference</c> service: validates, admits, submits and converts; the scheduler does the
/// work. It throws domain exceptions; <see cref="ErrorMappingInterceptor"/> turns them into statuses and
/// <see cref="Telemetry.RequestTelemetryInterceptor"/> records the span and metrics.
/// </summary>
public sealed class InferenceService : Inference.InferenceBase
{
    private readonly TaskRegistry _registry;
    private readonly SlotScheduler _scheduler;
    private readonly InferenceRequestValidator _validator;

    public InferenceService(TaskRegistry registry, SlotScheduler scheduler, InferenceRequestValidator validator)
    {
        _registry = registry;
        _scheduler = scheduler;
        _validator = validator;
    }

    public override async Task<ClassifyResponse> Classify(ClassifyRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (output, entry) = await RunAsync(request.Task, request.Texts, TaskKind.Classification, context);
        var labels = entry.Metadata.Labels;
        var response = new ClassifyResponse { Task = request.Task, Generation = entry.Generation };
        var classifications = output.Classifications!;
        for (var i = 0; i < classifications.Count; i++)
        {
            response.Results.Add(ToMessage(classifications[i], labels, output.Truncated[i], (int)request.TopK));
        }

        return response;
    }

    public override async Task<EmbedResponse> Embed(EmbedRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (output, entry) = await RunAsync(request.Task, request.Texts, TaskKind.Embedding, context);
        var response = new EmbedResponse { Task = request.Task, Generation = entry.Generation };
        var embeddings = output.Embeddings!;
        for (var i = 0; i < embeddings.Count; i++)
        {
            var message = new Ken.V1.Embedding { Truncated = output.Truncated[i] };
            message.Values.AddRange(embeddings[i]);
            response.Embeddings.Add(message);
        }

        return response;
    }

    /// <summary>The trailer with the milliseconds the request waited in its queue, as the server measured it.</summary>
    public const string QueueWaitTrailer = "ken-queue-wait-ms";

    /// <summary>
    /// Runs the request on the entry it was admitted against and returns that entry with the output: the
    /// reply names that entry's generation, so an overwrite meanwhile never mixes versions in one reply.
    /// </summary>
    private async Task<(TaskOutput Output, TaskEntry Entry)> RunAsync(string task, Google.Protobuf.Collections.RepeatedField<string> texts, TaskKind kind, ServerCallContext context)
    {
        TaskName.Validate(task);
        _validator.Validate(texts);
        var entry = _registry.Admit(task);
        try
        {
            if (entry.Kind != kind)
            {
                throw WrongKind(task, entry.Kind, kind);
            }

            var deadline = context.Deadline == DateTime.MaxValue ? (DateTime?)null : context.Deadline;
            if (deadline <= DateTime.UtcNow)
            {
                throw new OperationCanceledException();
            }

            var served = await _scheduler.SubmitAsync(entry, texts, deadline, context.CancellationToken).WaitAsync(context.CancellationToken);
            context.ResponseTrailers.Add(QueueWaitTrailer, ((long)Math.Ceiling(served.QueueWait.TotalMilliseconds)).ToString(System.Globalization.CultureInfo.InvariantCulture));
            return (served.Output, entry);
        }
        finally
        {
            _registry.Release(entry);
        }
    }

    private static KenException WrongKind(string task, TaskKind actual, TaskKind called)
    {
        var call = called == TaskKind.Classification ? "Classify" : "Embed";
        var right = actual == TaskKind.Classification ? "Classify" : "Embed";
        return new KenException($"task \"{task}\" is a {KenDeltaMetadata.ToText(actual)} task, so {call} cannot serve it; call {right} instead.");
    }

    private static Classification ToMessage(ClassificationResult result, IReadOnlyList<string> labels, bool truncated, int topK)
    {
        var message = new Classification { Label = result.Label, Score = result.Score, Truncated = truncated };
        var scores = result.Scores;
        if (topK <= 0 || topK >= scores.Length)
        {
            for (var i = 0; i < scores.Length; i++)
            {
                message.Scores.Add(new LabelScore { Label = LabelOf(labels, i), Score = scores[i] });
            }

            return message;
        }

        // Partial selection: top_k is small and label counts are small, so repeated max scans beat sorting.
        Span<bool> taken = scores.Length <= 256 ? stackalloc bool[scores.Length] : new bool[scores.Length];
        for (var n = 0; n < topK; n++)
        {
            var best = -1;
            for (var i = 0; i < scores.Length; i++)
            {
                if (!taken[i] && (best < 0 || scores[i] > scores[best]))
                {
                    best = i;
                }
            }

            taken[best] = true;
            message.Scores.Add(new LabelScore { Label = LabelOf(labels, best), Score = scores[best] });
        }

        return message;
    }

    private static string LabelOf(IReadOnlyList<string> labels, int index) =>
        index < labels.Count ? labels[index] : index.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
