using Ken.Runtime.Tests.Backbone;
using Ken.Runtime.Tests.Backends;

namespace Ken.Server.Tests.EndToEnd;

/// <summary>A minilm server with <c>--swap-mode patch</c>.</summary>
public sealed class PatchServerFixture(BackboneFixture backbone) : RealServerFixture(backbone, "patch");
