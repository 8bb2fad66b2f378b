namespace Ken.Server.Registry;

/// <summary>What a RegisterTask header declares about the file that follows.</summary>
public sealed record TaskUpload(string Name, bool Overwrite, bool Pin, long SizeBytes, string Sha256);
