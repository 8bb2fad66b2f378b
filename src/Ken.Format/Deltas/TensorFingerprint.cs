using System.Globalization;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using Ken.Format.Checkpoints;

namespace Ken.Format.Deltas;

/// <summary>
/// Identifies a base tensor: XxHash64 (seed 0) of its float32 little-endian bytes in canonical
/// layout, so a delta can refuse to patch a backbone it was not built against.
/// </summary>
public static class TensorFingerprint
{
    public static ulong Compute(ReadOnlySpan<float> values) => XxHash64.HashToUInt64(MemoryMarshal.AsBytes(values));

    /// <summary>Reads the tensor as float32 and fingerprints it.</summary>
    public static ulong Compute(ICheckpoint checkpoint, string name)
    {
        if (!checkpoint.TryGetInfo(name, out var info))
        {
            throw new KenException($"{checkpoint.Source} has no float tensor '{name}'; check the name, or use a checkpoint that contains it.");
        }

        var values = new float[info.ElementCount];
        checkpoint.ReadFloat32(name, values);
        return Compute(values);
    }

    /// <summary>16 lowercase hex digits.</summary>
    public static string ToHex(ulong fingerprint) => fingerprint.ToString("x16", CultureInfo.InvariantCulture);

    /// <summary>Parses exactly 16 hex digits.</summary>
    public static bool TryParseHex(string text, out ulong fingerprint)
    {
        fingerprint = 0;
        return text.Length == 16 && ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out fingerprint);
    }
}
