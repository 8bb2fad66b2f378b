using Ken.Runtime.Tests.Backbone;
using Ken.Runtime.Tests.Backends;

namespace Ken.Server.Tests.EndToEnd;

/// <summary>A minilm server with <c>--swap-mode resident</c>.</summary>
public sealed class ResidentServerFixture(BackboneFixture backbone) : RealServerFixture(backbone, "resident");
