using Ken.Format;
using Ken.Pruning.Selection;

namespace Ken.Pruning.Tests.Selection;

public class RowSelectorsTests
{
    [Theory]
    [InlineData("ken", typeof(KenSelector))]
    [InlineData("magnitude", typeof(MagnitudeSelector))]
    [InlineData("random", typeof(RandomSelector))]
    [InlineData("Magnitude", typeof(MagnitudeSelector))]
    public void Creates_the_named_method(string method, Type expected)
    {
        IRowSelector selector = RowSelectors.Create(method, 5);
        Assert.IsType(expected, selector);
        Assert.Equal(method.ToLowerInvariant(), selector.Method);
    }

    [Fact]
    public void Random_selector_gets_the_seed() =>
        Assert.Equal(77UL, Assert.IsType<RandomSelector>(RowSelectors.Create("random", 77)).Seed);

    [Fact]
    public void Unknown_method_lists_the_valid_ones()
    {
        var ex = Assert.Throws<KenException>(() => RowSelectors.Create("topk", 0));
        Assert.Contains("'topk'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ken, magnitude, random", ex.Message, StringComparison.Ordinal);
    }
}
