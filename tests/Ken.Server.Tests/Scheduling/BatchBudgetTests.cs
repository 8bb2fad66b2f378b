using Ken.Server.Scheduling;

namespace Ken.Server.Tests.Scheduling;

public sealed class BatchBudgetTests
{
    [Fact]
    public void Padding_counts_texts_times_the_longest_text()
    {
        var budget = new BatchBudget(maxTexts: 32, maxTokens: 100);
        Assert.True(budget.TryAdd(3, 10));
        Assert.Equal(30, budget.PaddedTokens);

        // One 40-token text would pad all four rows to 40: 160 > 100.
        Assert.False(budget.TryAdd(1, 40));
        Assert.True(budget.TryAdd(5, 12));
        Assert.Equal(96, budget.PaddedTokens);
        Assert.False(budget.IsFull);
        Assert.False(budget.TryAdd(1, 1));
    }

    [Fact]
    public void The_text_count_bounds_a_batch_too()
    {
        var budget = new BatchBudget(maxTexts: 2, maxTokens: 1_000_000);
        Assert.True(budget.TryAdd(2, 3));
        Assert.True(budget.IsFull);
        Assert.False(budget.TryAdd(1, 3));
    }

    [Fact]
    public void A_request_larger_than_the_budget_still_fits_an_empty_batch_alone()
    {
        var budget = new BatchBudget(maxTexts: 4, maxTokens: 50);
        Assert.True(budget.TryAdd(10, 512));
        Assert.True(budget.IsFull);
        Assert.False(budget.TryAdd(1, 1));
    }
}
