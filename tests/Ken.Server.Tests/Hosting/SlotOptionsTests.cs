using Ken.Format;
using Ken.Server.Hosting;

using Microsoft.Extensions.Configuration;

namespace Ken.Server.Tests.Hosting;

/// <summary>How <c>--slots</c>, <c>--slot-memory</c>, <c>--executors</c> and <c>--prefetch</c> become backbone and scheduler settings.</summary>
public sealed class SlotOptionsTests
{
    [Fact]
    public void Without_slots_the_slot_memory_sizes_the_slots_and_resident_gets_one_slot_per_executor()
    {
        var options = Load(("Executors", "3"));

        Assert.Null(options.Slots);
        Assert.Equal(KenServerOptions.DefaultSlotMemory, options.SlotMemory);
        var backbone = BackendFactory.ResolveBackbone(options);
        Assert.Equal(KenServerOptions.DefaultSlotMemory, backbone.SlotMemory);
        Assert.Equal(3, backbone.Slots);
        Assert.Equal(KenServerOptions.IntraOpThreadsFor(3, Environment.ProcessorCount), backbone.IntraOpThreads);
    }

    [Fact]
    public void An_explicit_slot_count_wins_over_slot_memory()
    {
        var backbone = BackendFactory.ResolveBackbone(Load(("Slots", "3"), ("SlotMemory", "1GiB")));

        Assert.Equal(3, backbone.Slots);
        Assert.Null(backbone.SlotMemory);
        Assert.Equal(3, backbone.SlotCountFor(1L << 20));

        // One slot: one executor runs, with every core.
        Assert.Equal(Environment.ProcessorCount, BackendFactory.ResolveBackbone(Load(("Slots", "1"), ("Executors", "4"))).IntraOpThreads);
    }

    [Fact]
    public void Executors_split_the_cores_and_default_to_the_core_count_up_to_four()
    {
        Assert.Equal(1, KenServerOptions.IntraOpThreadsFor(2, 2));
        Assert.Equal(2, KenServerOptions.IntraOpThreadsFor(1, 2));
        Assert.Equal(1, KenServerOptions.IntraOpThreadsFor(8, 2));
        Assert.Equal(4, KenServerOptions.IntraOpThreadsFor(4, 16));
        Assert.Equal(2, KenServerOptions.DefaultExecutors(2));
        Assert.Equal(4, KenServerOptions.DefaultExecutors(64));
        Assert.Equal(1, KenServerOptions.DefaultExecutors(1));
    }

    [Fact]
    public void Bad_values_are_refused_with_the_flag_to_fix()
    {
        Assert.False(Load(("Prefetch", "false")).Prefetch);
        Assert.Contains("--prefetch", Assert.Throws<KenException>(() => Load(("Prefetch", "maybe"))).Message, StringComparison.Ordinal);
        Assert.Contains("--slot-memory", Assert.Throws<KenException>(() => Load(("SlotMemory", "0"))).Message, StringComparison.Ordinal);
        Assert.Contains("--executors", Assert.Throws<KenException>(() => Load(("Executors", "0"))).Message, StringComparison.Ordinal);
    }

    private static KenServerOptions Load(params (string Key, string Value)[] values)
    {
        var settings = new Dictionary<string, string?> { ["Ken:DataDir"] = Path.GetTempPath() };
        foreach (var (key, value) in values)
        {
            settings["Ken:" + key] = value;
        }

        return KenServerOptions.Load(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
    }
}
