namespace Ken.Server.Registry;

/// <summary>One task file as a listing of the registry folder found it.</summary>
internal sealed record StoreFile(string Name, string Path, StoreStamp Stamp, bool Pinned);
