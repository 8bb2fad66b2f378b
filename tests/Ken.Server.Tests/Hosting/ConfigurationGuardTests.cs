using System.Collections;

using Ken.Format;
using Ken.Server.Hosting;
using Ken.TestSupport;

using Microsoft.Extensions.Configuration;

namespace Ken.Server.Tests.Hosting;

public sealed class ConfigurationGuardTests
{
    [Fact]
    public void An_unknown_flag_is_refused_with_the_closest_known_flag_first()
    {
        var ex = Assert.Throws<KenException>(() => ConfigurationGuard.CheckArguments(["--max-batch", "8", "--max-queu", "7"]));
        Assert.StartsWith("unknown flag --max-queu; known flags, closest first: --max-queue, ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("--tenant-tokens", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Theory]
    [InlineData("--no-such-flag", "7")]
    [InlineData("--no-such-flag=7")]
    [InlineData("-x", "7")]
    [InlineData("/nosuch", "7")]
    [InlineData("--MaxBatch", "7")]
    public void Every_spelling_of_an_unknown_flag_is_refused(params string[] args)
    {
        var ex = Assert.Throws<KenException>(() => ConfigurationGuard.CheckArguments(args));
        Assert.StartsWith("unknown flag ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ken_flags_host_flags_and_aspnet_configuration_paths_pass()
    {
        ConfigurationGuard.CheckArguments(
        [
            "--max-batch", "8", "--MAX-QUEUE", "9", "--urls=http://127.0.0.1:0", "--environment", "Production",
            "--Logging:LogLevel:Default", "Warning", "--Kestrel:Limits:MaxConcurrentConnections=100", "--slots", "-1",
        ]);
    }

    [Fact]
    public void A_stray_word_and_a_flag_without_a_value_are_refused()
    {
        Assert.StartsWith("unexpected argument \"serve\"", Assert.Throws<KenException>(() => ConfigurationGuard.CheckArguments(["serve"])).Message, StringComparison.Ordinal);
        Assert.StartsWith("--prefetch has no value", Assert.Throws<KenException>(() => ConfigurationGuard.CheckArguments(["--max-batch", "8", "--prefetch"])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_ken_variable_is_refused_and_other_tools_variables_pass()
    {
        var ex = Assert.Throws<KenException>(() => ConfigurationGuard.CheckEnvironment(new Hashtable { ["KEN_MAX_BACH"] = "8", ["KEN_MAX_BATCH"] = "8" }));
        Assert.StartsWith("unknown environment variable KEN_MAX_BACH; unset it or use a known one, closest first: KEN_MAX_BATCH, ", ex.Message, StringComparison.Ordinal);

        ConfigurationGuard.CheckEnvironment(new Hashtable
        {
            ["KEN_MAX_BATCH"] = "8", ["KEN_URLS"] = "http://127.0.0.1:0", ["KEN_TOKEN"] = "t", ["KEN_SERVER"] = "s", ["KEN_MODEL_CACHE"] = "/c",
            ["KEN_TLS_CERT"] = "c.pem", ["ASPNETCORE_URLS"] = "x", ["DOTNET_gcServer"] = "1", ["PATH"] = "/bin",
        });
    }

    [Fact]
    public void An_unknown_key_of_the_ken_section_is_refused_and_other_sections_pass()
    {
        var bad = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Ken:MaxBatch"] = "8", ["Ken:MaxQueu"] = "8" }).Build();
        var ex = Assert.Throws<KenException>(() => ConfigurationGuard.CheckSection(bad));
        Assert.StartsWith("unknown setting Ken:MaxQueu", ex.Message, StringComparison.Ordinal);
        Assert.Contains("closest first: MaxQueue, ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("(flag --max-queue (KEN_MAX_QUEUE))", ex.Message, StringComparison.Ordinal);

        var good = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Ken:MaxBatch"] = "8", ["Logging:LogLevel:Default"] = "Warning", ["Kestrel:Limits:MaxConcurrentConnections"] = "9", ["Anything:Else"] = "1",
        }).Build();
        ConfigurationGuard.CheckSection(good);
    }

    [Fact]
    public void The_shipped_appsettings_has_only_known_keys()
    {
        var path = Path.Combine(Path.GetDirectoryName(ServerExit.ServerDll)!, "appsettings.json");
        ConfigurationGuard.CheckSection(new ConfigurationBuilder().AddJsonFile(path).Build());
    }

    [Fact]
    public void Every_flag_has_a_variable_and_a_key()
    {
        Assert.Equal(OptionSources.Flags.Count, OptionSources.Keys.Count);
        foreach (var flag in OptionSources.Flags)
        {
            Assert.Contains("KEN_" + flag[2..].Replace('-', '_').ToUpperInvariant(), OptionSources.EnvironmentVariables);
        }
    }

    [Fact]
    public void Closest_names_order_by_edit_distance()
    {
        Assert.Equal(0, ClosestNames.Distance("abc", "abc"));
        Assert.Equal(1, ClosestNames.Distance("--slot", "--slots"));
        Assert.Equal(3, ClosestNames.Distance("kitten", "sitting"));
        Assert.Equal(["--slots", "--model", "--max-batch"], ClosestNames.Order("--slot", ["--max-batch", "--model", "--slots"]));
    }

    [Fact]
    public void The_server_process_stops_at_start_on_an_unknown_flag()
    {
        using var data = new TempDirectory();
        var (code, stdout, stderr) = ServerExit.Run(["--data-dir", data.Path, "--no-such-flag", "7"], libraryPath: string.Empty);
        Assert.Equal(2, code);
        Assert.StartsWith("ken-server: unknown flag --no-such-flag; known flags, closest first: ", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.DoesNotContain("Now listening", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void The_server_process_stops_at_start_on_an_unknown_ken_variable()
    {
        using var data = new TempDirectory();
        var (code, _, stderr) = ServerExit.Run(["--data-dir", data.Path], libraryPath: string.Empty, new Dictionary<string, string> { ["KEN_MAX_BACH"] = "8" });
        Assert.Equal(2, code);
        Assert.StartsWith("ken-server: unknown environment variable KEN_MAX_BACH; unset it or use a known one, closest first: KEN_MAX_BATCH, ", stderr, StringComparison.Ordinal);
    }
}
