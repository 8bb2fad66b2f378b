using Ken.Format;
using Ken.Server.Security;

namespace Ken.Server.Tests.Security;

public sealed class TenantTokensTests
{
    [Theory]
    [InlineData("sotu", "sotu", true)]
    [InlineData("sotu", "sotu2", false)]
    [InlineData("spam-*", "spam-", true)]
    [InlineData("spam-*", "spam-en", true)]
    [InlineData("spam-*", "ham-en", false)]
    [InlineData("*", "anything", true)]
    [InlineData("*-en", "spam-en", true)]
    [InlineData("*-en", "spam-de", false)]
    [InlineData("a*b*c", "abc", true)]
    [InlineData("a*b*c", "axxbyyc", true)]
    [InlineData("a*b*c", "axxcyyb", false)]
    [InlineData("ab*ba", "aba", false)]
    public void Patterns_match_whole_names_with_star_as_any_run(string pattern, string task, bool matches)
    {
        Assert.Equal(matches, TaskPattern.Parse(pattern).Matches(task));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Spam")]
    [InlineData("spam?")]
    [InlineData("spam/x")]
    public void Patterns_with_characters_no_task_has_are_refused(string pattern)
    {
        Assert.Contains("is not valid; use task-name characters", Assert.Throws<KenException>(() => TaskPattern.Parse(pattern)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Find_returns_the_grant_of_a_known_token_only()
    {
        var tokens = TenantTokens.Parse("""{"tokens":[{"name":"a","token":"aaaaaaaaaaaaaaaa","tasks":["x-*"]},{"token":"bbbbbbbbbbbbbbbb","tasks":["y"]}]}""");
        Assert.Equal(2, tokens.Count);
        Assert.Equal("a", tokens.Find("aaaaaaaaaaaaaaaa")!.Name);
        Assert.Equal("tokens[1]", tokens.Find("bbbbbbbbbbbbbbbb")!.Name);
        Assert.True(tokens.Find("aaaaaaaaaaaaaaaa")!.Allows("x-1"));
        Assert.False(tokens.Find("aaaaaaaaaaaaaaaa")!.Allows("y"));
        Assert.Null(tokens.Find("aaaaaaaaaaaaaaa"));
        Assert.Null(tokens.Find(string.Empty));
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("""{"token":[]}""", "no \"tokens\" array")]
    [InlineData("""{"tokens":[]}""", "the \"tokens\" array is empty")]
    [InlineData("""{"tokens":[1]}""", "tokens[0] is not an object")]
    [InlineData("""{"tokens":[{"token":"aaaaaaaaaaaaaaaa","tasks":["x"],"task":"y"}]}""", "tokens[0] has an unknown field \"task\"")]
    [InlineData("""{"tokens":[{"token":"aaaaaaaaaaaaaaaa"}]}""", "tokens[0] needs a non-empty \"tasks\" array")]
    [InlineData("""{"tokens":[{"token":"aaaaaaaaaaaaaaaa","tasks":[]}]}""", "tokens[0] needs a non-empty \"tasks\" array")]
    [InlineData("""{"tokens":[{"token":"aaaaaaaaaaaaaaaa","tasks":[3]}]}""", "tokens[0].tasks holds a Number")]
    [InlineData("""{"tokens":[{"token":"aaaaaaaaaaaaaaaa","tasks":["x"]},{"token":"aaaaaaaaaaaaaaaa","tasks":["y"]}]}""", "tokens[1] repeats a token")]
    public void A_malformed_file_is_refused_saying_where(string json, string message)
    {
        Assert.Contains(message, Assert.Throws<KenException>(() => TenantTokens.Parse(json)).Message, StringComparison.Ordinal);
    }
}
