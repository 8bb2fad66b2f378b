using System.Buffers.Binary;
using System.Text;

namespace Ken.TestSupport;

/// <summary>
/// Deterministic mutations of a valid file, one per seed: bit flips, truncations, byte insertions and
/// deletions, overwritten length fields (little-endian integers and protobuf varints) and numbers in a
/// JSON header replaced by huge ones. The same seed always gives the same bytes, so a failure names
/// the input that caused it.
/// </summary>
public static class ByteMutator
{
    /// <summary>Integers that break length and offset checks: zero, signs, off-by-one and overflow edges.</summary>
    private static readonly ulong[] Interesting =
    [
        0, 1, 7, 8, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
        0x1_0000_0000, 100_000_001, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, ulong.MaxValue, ulong.MaxValue - 7,
    ];

    private static readonly string[] HugeNumbers =
    [
        "18446744073709551615", "9223372036854775807", "9223372036854775808", "4294967296", "2147483648",
        "-1", "1e308", "99999999999999999999999999", "0", "1.5",
    ];

    /// <summary>The kinds of mutation, in the order <see cref="Mutate"/> cycles through them.</summary>
    public static readonly IReadOnlyList<string> Kinds =
        ["bit-flips", "truncate", "insert", "delete", "length-field", "varint", "huge-number", "splice"];

    /// <summary>The mutation for <paramref name="seed"/> of <paramref name="valid"/>; its kind is <see cref="Kinds"/>[seed % count].</summary>
    public static byte[] Mutate(byte[] valid, int seed)
    {
        ArgumentNullException.ThrowIfNull(valid);
        var random = new Random(seed);
        var kind = Kinds[(int)((uint)seed % (uint)Kinds.Count)];
        var bytes = valid.ToList();
        switch (kind)
        {
            case "bit-flips":
                for (int i = 0, flips = random.Next(1, 9); i < flips; i++)
                {
                    var at = random.Next(bytes.Count);
                    bytes[at] ^= (byte)(1 << random.Next(8));
                }

                break;
            case "truncate":
                return valid[..random.Next(valid.Length)];
            case "insert":
                {
                    var insert = new byte[random.Next(1, 64)];
                    random.NextBytes(insert);
                    bytes.InsertRange(random.Next(bytes.Count + 1), insert);
                    break;
                }

            case "delete":
                {
                    var at = random.Next(bytes.Count);
                    bytes.RemoveRange(at, Math.Min(bytes.Count - at, random.Next(1, 32)));
                    break;
                }

            case "length-field":
                {
                    // Little-endian 8-, 4- or 2-byte integers, mostly where formats keep their lengths: the start.
                    var width = new[] { 8, 4, 2 }[random.Next(3)];
                    var at = random.Next(4) == 0 ? 0 : random.Next(Math.Max(1, bytes.Count - width));
                    var value = Interesting[random.Next(Interesting.Length)] + (ulong)random.Next(-1, 2);
                    Span<byte> field = stackalloc byte[8];
                    BinaryPrimitives.WriteUInt64LittleEndian(field, value);
                    for (var i = 0; i < width && at + i < bytes.Count; i++)
                    {
                        bytes[at + i] = field[i];
                    }

                    break;
                }

            case "varint":
                {
                    // A protobuf length or tag byte replaced by a long or huge varint.
                    var at = random.Next(bytes.Count);
                    var value = Interesting[random.Next(Interesting.Length)];
                    var varint = new List<byte>();
                    do
                    {
                        var b = (byte)(value & 0x7F);
                        value >>= 7;
                        varint.Add(value != 0 ? (byte)(b | 0x80) : b);
                    }
                    while (value != 0);
                    bytes.RemoveAt(at);
                    bytes.InsertRange(at, varint);
                    break;
                }

            case "huge-number":
                return ReplaceNumber(valid, random) ?? valid[..random.Next(valid.Length)];
            default:
                {
                    // A copy of one part of the file over another: valid-looking structure in the wrong place.
                    var from = random.Next(bytes.Count);
                    var to = random.Next(bytes.Count);
                    var count = Math.Min(random.Next(1, 128), Math.Min(bytes.Count - from, bytes.Count - to));
                    var part = bytes.GetRange(from, count);
                    for (var i = 0; i < count; i++)
                    {
                        bytes[to + i] = part[i];
                    }

                    break;
                }
        }

        return [.. bytes];
    }

    /// <summary>Replaces one run of ASCII digits (a shape, an offset, a length in a JSON header) by a huge or odd number.</summary>
    private static byte[]? ReplaceNumber(byte[] valid, Random random)
    {
        var runs = new List<(int Start, int Length)>();
        for (var i = 0; i < valid.Length;)
        {
            if (valid[i] is >= (byte)'0' and <= (byte)'9')
            {
                var start = i;
                while (i < valid.Length && valid[i] is >= (byte)'0' and <= (byte)'9')
                {
                    i++;
                }

                runs.Add((start, i - start));
            }
            else
            {
                i++;
            }
        }

        if (runs.Count == 0)
        {
            return null;
        }

        var (at, length) = runs[random.Next(runs.Count)];
        var number = Encoding.ASCII.GetBytes(HugeNumbers[random.Next(HugeNumbers.Length)]);
        byte[] mutated = [.. valid.AsSpan(0, at), .. number, .. valid.AsSpan(at + length)];

        // In a safetensors file (8-byte header length, then JSON) keep the length right, so the number
        // reaches the header's checks instead of failing the length check.
        var headerLength = valid.Length >= 8 ? BinaryPrimitives.ReadUInt64LittleEndian(valid) : ulong.MaxValue;
        if (at >= 8 && headerLength <= (ulong)(valid.Length - 8) && (ulong)at < 8 + headerLength)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(mutated, headerLength + (ulong)(number.Length - length));
        }

        return mutated;
    }
}
