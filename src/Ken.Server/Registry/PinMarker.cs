namespace Ken.Server.Registry;

/// <summary>
/// A pin is an empty marker file next to the task's file (<c>name.ken.pinned</c>), so that it survives
/// restarts without touching the .ken file itself.
/// </summary>
internal static class PinMarker
{
    private const string Suffix = ".pinned";

    public static bool IsSet(string taskPath) => File.Exists(taskPath + Suffix);

    public static void Set(string taskPath, bool pin)
    {
        if (pin)
        {
            File.WriteAllBytes(taskPath + Suffix, []);
        }
        else
        {
            Remove(taskPath);
        }
    }

    public static void Remove(string taskPath) => TaskStore.TryDelete(taskPath + Suffix);
}
