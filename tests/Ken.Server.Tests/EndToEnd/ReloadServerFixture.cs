using Ken.Runtime.Tests.Backbone;
using Ken.Runtime.Tests.Backends;

namespace Ken.Server.Tests.EndToEnd;

/// <summary>A minilm server with <c>--swap-mode reload</c>.</summary>
public sealed class ReloadServerFixture(BackboneFixture backbone) : RealServerFixture(backbone, "reload");
