using System.Globalization;
using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Safetensors;

namespace Ken.Format.Deltas;

/// <summary>
/// Reads a <c>.ken</c> file and validates all of it (metadata, every mask against its shape and
/// values, finiteness) before returning, so nothing invalid ever reaches a weight buffer.
/// </summary>
public static class KenDeltaReader
{
    private const string Fix = "rebuild it with `ken prune`";

    /// <summary>Reads and validates <paramref name="path"/>; throws <see cref="KenException"/> naming the file and tensor.</summary>
    public static KenDelta Read(string path)
    {
        using var file = SafetensorsFile.Open(path);
        var metadata = KenDeltaMetadata.Parse(file.Metadata, path);

        var masks = new List<SafetensorsEntry>();
        var values = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
        var heads = new List<SafetensorsEntry>();
        foreach (var entry in file.Entries)
        {
            if (entry.Name.StartsWith(KenDelta.MaskPrefix, StringComparison.Ordinal))
            {
                masks.Add(entry);
            }
            else if (entry.Name.StartsWith(KenDelta.ValuesPrefix, StringComparison.Ordinal))
            {
                values.Add(entry.Name[KenDelta.ValuesPrefix.Length..], entry);
            }
            else if (entry.Name.StartsWith(KenDelta.HeadPrefix, StringComparison.Ordinal))
            {
                heads.Add(entry);
            }
            else
            {
                throw new KenException($"{path}: tensor '{entry.Name}' is not a mask/, values/ or head/ entry, so this is not a valid Ken delta; {Fix}.");
            }
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        var patched = new List<PatchedTensor>(masks.Count);
        foreach (var maskEntry in masks)
        {
            string name = maskEntry.Name[KenDelta.MaskPrefix.Length..];
            names.Add(name);
            patched.Add(ReadPatch(file, path, name, maskEntry, values));
        }

        foreach (var name in values.Keys)
        {
            if (!names.Contains(name))
            {
                throw new KenException($"{path}: tensor '{name}' has values but no mask/{name} entry; {Fix}.");
            }
        }

        foreach (var key in file.Metadata.Keys)
        {
            string? orphan = key.StartsWith(KenDeltaMetadata.BaseFingerprintPrefix, StringComparison.Ordinal) ? key[KenDeltaMetadata.BaseFingerprintPrefix.Length..]
                : key.StartsWith(KenDeltaMetadata.ShapePrefix, StringComparison.Ordinal) ? key[KenDeltaMetadata.ShapePrefix.Length..]
                : null;
            if (orphan is not null && !names.Contains(orphan))
            {
                throw new KenException($"{path}: metadata '{key}' refers to tensor '{orphan}', which has no mask/{orphan} entry; {Fix}.");
            }
        }

        var headTensors = new List<HeadTensor>(heads.Count);
        foreach (var entry in heads)
        {
            string name = entry.Name[KenDelta.HeadPrefix.Length..];
            if (!names.Add(name))
            {
                throw new KenException($"{path}: tensor '{name}' is both patched and stored whole; {Fix}.");
            }

            var dtype = FloatDType(path, entry);
            headTensors.Add(new HeadTensor(name, entry.Shape, ReadFinite(file, path, entry, dtype), dtype));
        }

        return new KenDelta(metadata, patched, headTensors);
    }

    private static PatchedTensor ReadPatch(SafetensorsFile file, string path, string name, SafetensorsEntry maskEntry, Dictionary<string, SafetensorsEntry> values)
    {
        if (maskEntry.DType != "U8" || maskEntry.Shape.Count != 1)
        {
            throw new KenException($"{path}: tensor '{maskEntry.Name}' is {maskEntry.DType} with shape [{string.Join(", ", maskEntry.Shape)}], but a mask must be one-dimensional U8; {Fix}.");
        }

        string shapeKey = KenDeltaMetadata.ShapePrefix + name;
        if (!file.Metadata.TryGetValue(shapeKey, out var shapeText))
        {
            throw new KenException($"{path}: tensor '{name}' has no '{shapeKey}' metadata, so its mask cannot be interpreted; {Fix}.");
        }

        var shape = ParseShape(shapeText) ?? throw new KenException($"{path}: metadata '{shapeKey}' is \"{shapeText}\", not comma-separated non-negative dimensions; {Fix}.");
        long elements = 1;
        foreach (var d in shape)
        {
            elements = d == 0 || elements == 0 ? 0 : elements > long.MaxValue / d ? -1 : elements * d;
            if (elements < 0)
            {
                throw new KenException($"{path}: metadata '{shapeKey}' is \"{shapeText}\", too large a tensor; {Fix}.");
            }
        }

        if (maskEntry.ByteLength != MaskBits.ByteLength(elements))
        {
            throw new KenException($"{path}: tensor '{name}' has {elements} elements, so its mask needs {MaskBits.ByteLength(elements)} bytes, but it has {maskEntry.ByteLength}; {Fix}.");
        }

        var mask = file.GetBytes(maskEntry);
        if (!MaskBits.TrailingBitsAreZero(mask, elements))
        {
            throw new KenException($"{path}: tensor '{name}' has mask bits set beyond its last element ({elements}); {Fix}.");
        }

        string baseKey = KenDeltaMetadata.BaseFingerprintPrefix + name;
        if (!file.Metadata.TryGetValue(baseKey, out var fingerprintText))
        {
            throw new KenException($"{path}: tensor '{name}' has no '{baseKey}' fingerprint, so the base it patches cannot be checked; {Fix}.");
        }

        if (!TensorFingerprint.TryParseHex(fingerprintText, out ulong fingerprint))
        {
            throw new KenException($"{path}: metadata '{baseKey}' is \"{fingerprintText}\", not 16 hex digits; {Fix}.");
        }

        if (!values.TryGetValue(name, out var valuesEntry))
        {
            throw new KenException($"{path}: tensor '{name}' has a mask but no values/{name} entry; {Fix}.");
        }

        var dtype = FloatDType(path, valuesEntry);
        if (valuesEntry.Shape.Count != 1)
        {
            throw new KenException($"{path}: tensor '{valuesEntry.Name}' has shape [{string.Join(", ", valuesEntry.Shape)}], but values must be one-dimensional; {Fix}.");
        }

        long kept = MaskBits.PopCount(mask);
        if (kept != valuesEntry.ElementCount)
        {
            throw new KenException($"{path}: tensor '{name}' keeps {kept} positions in its mask but has {valuesEntry.ElementCount} values; the file is corrupt, {Fix}.");
        }

        var data = ReadFinite(file, path, valuesEntry, dtype);
        return new PatchedTensor(name, shape, mask.ToArray(), data, dtype, fingerprint);
    }

    private static TensorDType FloatDType(string path, SafetensorsEntry entry) =>
        entry.FloatDType ?? throw new KenException($"{path}: tensor '{entry.Name}' is {entry.DType}, but values and head tensors must be F32, F16 or BF16; {Fix}.");

    private static float[] ReadFinite(SafetensorsFile file, string path, SafetensorsEntry entry, TensorDType dtype)
    {
        var bytes = file.GetBytes(entry);
        int bad = FloatEncoding.IndexOfNonFinite(bytes, dtype);
        if (bad >= 0)
        {
            throw new KenException($"{path}: tensor '{entry.Name}' has a NaN or infinite value at element {bad}; {Fix} from a checkpoint with finite weights.");
        }

        var data = new float[entry.ElementCount];
        FloatEncoding.Decode(bytes, dtype, data);
        return data;
    }

    private static long[]? ParseShape(string text)
    {
        if (text.Length == 0)
        {
            return [];
        }

        var parts = text.Split(',');
        var shape = new long[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!long.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out shape[i]))
            {
                return null;
            }
        }

        return shape;
    }
}
