using Ken.Runtime.Tests.Backbone;
namespace Ken.Runtime.Tests.Backends;

/// <summary>Backbone tests share one backend and its slots, so they run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class BackboneTestGroup : ICollectionFixture<BackboneFixture>
{
    public const string Name = "backbone";
}
