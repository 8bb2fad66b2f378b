using Ken.Runtime.Tests.Backbone;
using Ken.Runtime.Tests.Backends;

namespace Ken.Server.Tests.EndToEnd;

/// <summary><c>--swap-mode reload</c> behind real gRPC gives the answers of the patching runtime.</summary>
[Collection(BackboneTestGroup.Name)]
public sealed class ReloadModeEndToEndTests(ReloadServerFixture fixture) : IClassFixture<ReloadServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_task_answers_as_in_patch_mode()
    {
        // Twice round all 5 tasks on 2 slots: every task is switched in (and out) at least once.
        for (var round = 0; round < 2; round++)
        {
            foreach (var task in fixture.Tasks)
            {
                await ServedAnswers.AskAndCheckAsync(fixture, task, ServedTasks.Texts.Skip(round * 4).Take(4).ToArray(), ServedAnswers.Tolerance, Ct);
            }
        }
    }
}
