using System.Collections;

using Ken.Format;
using Ken.Server.Hosting;

using Microsoft.Extensions.Configuration;

namespace Ken.Server.Tests.Hosting;

/// <summary>How <c>--registry-dir</c> and <c>--registry-poll-ms</c> (and their <c>KEN_*</c> variables) set the registry folder.</summary>
public sealed class RegistryDirOptionsTests
{
    [Fact]
    public void Without_a_registry_dir_the_registry_is_the_data_dir_s_own_tasks_folder()
    {
        var options = Load(new Hashtable { ["KEN_DATA_DIR"] = "/srv/ken" }, []);

        Assert.Null(options.RegistryDir);
        Assert.Equal(Path.Combine("/srv/ken", "tasks"), options.TasksDir);
        Assert.Equal(500, options.RegistryPollMs);
    }

    [Fact]
    public void The_variables_and_the_flags_set_a_shared_folder_apart_from_the_data_dir_and_flags_win()
    {
        var fromEnvironment = Load(new Hashtable { ["KEN_DATA_DIR"] = "/srv/ken", ["KEN_REGISTRY_DIR"] = "/mnt/shared/tasks", ["KEN_REGISTRY_POLL_MS"] = "250" }, []);
        Assert.Equal("/mnt/shared/tasks", fromEnvironment.RegistryDir);
        Assert.Equal("/mnt/shared/tasks", fromEnvironment.TasksDir);
        Assert.Equal(Path.Combine("/srv/ken", "quarantine"), fromEnvironment.QuarantineDir);
        Assert.Equal(250, fromEnvironment.RegistryPollMs);

        var fromFlags = Load(new Hashtable { ["KEN_REGISTRY_DIR"] = "/mnt/shared/tasks" }, ["--registry-dir", "/mnt/other", "--registry-poll-ms", "1000"]);
        Assert.Equal("/mnt/other", fromFlags.TasksDir);
        Assert.Equal(1000, fromFlags.RegistryPollMs);
    }

    [Fact]
    public void A_poll_interval_out_of_range_is_refused_naming_the_flag_and_the_range()
    {
        var error = Assert.Throws<KenException>(() => Load(new Hashtable(), ["--registry-poll-ms", "5"]));

        Assert.Contains("--registry-poll-ms (KEN_REGISTRY_POLL_MS)", error.Message, StringComparison.Ordinal);
        Assert.Contains("from 50 to 60000", error.Message, StringComparison.Ordinal);
    }

    private static KenServerOptions Load(Hashtable environment, string[] args)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(OptionSources.FromEnvironment(environment))
            .AddCommandLine(args, OptionSources.SwitchMappings())
            .Build();
        return KenServerOptions.Load(configuration);
    }
}
