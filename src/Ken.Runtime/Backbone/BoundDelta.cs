using Ken.Runtime.Patching;
using Ken.Runtime.Tasks;

namespace Ken.Runtime.Backbone;

/// <summary>
/// A delta checked against the backbone: the task it describes, its patches in physical layout, and the
/// bytes its head tensors hold. Each backend keeps what it needs of it in its own bound task.
/// </summary>
internal sealed record BoundDelta(TaskSpec Spec, PatchSet Patches, long HeadBytes);
