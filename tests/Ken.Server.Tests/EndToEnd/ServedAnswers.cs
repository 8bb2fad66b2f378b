using Ken.Format.Deltas;
using Ken.V1;

using TaskKind = Ken.Format.Deltas.TaskKind;

namespace Ken.Server.Tests.EndToEnd;

/// <summary>Asks a real server for a task's answers over gRPC and checks them against the in-process runtime.</summary>
internal static class ServedAnswers
{
    /// <summary>In-process and served answers differ only by batch shape (padding), which moves float sums by ~1e-7.</summary>
    public const float Tolerance = 1e-5f;

    /// <summary>Calls Classify or Embed (by the task's kind) for <paramref name="texts"/>; returns the largest difference seen.</summary>
    public static async Task<float> AskAndCheckAsync(RealServerFixture fixture, KenDelta task, IReadOnlyList<string> texts, float tolerance, CancellationToken cancellationToken)
    {
        var server = fixture.Server;
        var name = task.Metadata.Task;
        var worst = 0f;
        if (task.Metadata.Kind == TaskKind.Classification)
        {
            var reply = await server.Inference.ClassifyAsync(new ClassifyRequest { Task = name, Texts = { texts } }, cancellationToken: cancellationToken);
            Assert.Equal(texts.Count, reply.Results.Count);
            for (var i = 0; i < texts.Count; i++)
            {
                var expected = fixture.Expected(name, texts[i]).Classifications![0];
                var served = reply.Results[i];
                Assert.Equal(task.Metadata.Labels, served.Scores.Select(s => s.Label));
                for (var l = 0; l < expected.Scores.Length; l++)
                {
                    worst = Math.Max(worst, Math.Abs(expected.Scores[l] - served.Scores[l].Score));
                }

                Assert.True(worst <= tolerance, $"task {name}, text {i}: scores differ by {worst} from the in-process runtime");
                Assert.Equal(expected.Label, served.Label);
            }
        }
        else
        {
            var reply = await server.Inference.EmbedAsync(new EmbedRequest { Task = name, Texts = { texts } }, cancellationToken: cancellationToken);
            Assert.Equal(texts.Count, reply.Embeddings.Count);
            for (var i = 0; i < texts.Count; i++)
            {
                var expected = fixture.Expected(name, texts[i]).Embeddings![0];
                var served = reply.Embeddings[i].Values;
                Assert.Equal(expected.Length, served.Count);
                for (var j = 0; j < expected.Length; j++)
                {
                    worst = Math.Max(worst, Math.Abs(expected[j] - served[j]));
                }

                Assert.True(worst <= tolerance, $"task {name}, text {i}: embedding differs by {worst} from the in-process runtime");
            }
        }

        return worst;
    }
}
