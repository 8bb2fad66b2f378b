namespace Ken.Client.Tests;

/// <summary>Bad options fail when the client is built, with the option's name, not on the first call.</summary>
public sealed class KenClientOptionsTests
{
    [Theory]
    [InlineData("not a url")]
    [InlineData("ftp://127.0.0.1:5000")]
    [InlineData("127.0.0.1:5000")]
    public void An_address_that_is_not_an_http_url_is_rejected(string address)
    {
        var e = Assert.Throws<ArgumentException>(() => new KenClient(address));
        Assert.Contains(address, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Out_of_range_options_are_rejected_by_name()
    {
        Assert.Equal("MaxRetries", Assert.Throws<ArgumentOutOfRangeException>(() => new KenClient(new KenClientOptions { MaxRetries = -1 })).ParamName);
        Assert.Equal("Timeout", Assert.Throws<ArgumentOutOfRangeException>(() => new KenClient(new KenClientOptions { Timeout = TimeSpan.Zero })).ParamName);
        Assert.Equal("UploadChunkBytes", Assert.Throws<ArgumentOutOfRangeException>(() => new KenClient(new KenClientOptions { UploadChunkBytes = 0 })).ParamName);
    }

    [Fact]
    public void Valid_options_build_a_client_without_contacting_the_server()
    {
        using var client = new KenClient(new KenClientOptions { Address = "http://127.0.0.1:1", MaxRetries = 0 });
        Assert.Equal("http://127.0.0.1:1", client.Address);
    }
}
