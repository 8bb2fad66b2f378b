using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Ken.Format.Checkpoints;

/// <summary>
/// Conversions between float32 and the stored float element types (F32, F16, BF16), little-endian
/// as safetensors stores them.
/// </summary>
public static class FloatEncoding
{
    /// <summary>Bytes per element of <paramref name="dtype"/>.</summary>
    public static int SizeOf(TensorDType dtype) => dtype switch
    {
        TensorDType.F32 => 4,
        TensorDType.F16 => 2,
        TensorDType.BF16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown float dtype."),
    };

    /// <summary>The safetensors spelling of <paramref name="dtype"/> (<c>F32</c>, <c>F16</c>, <c>BF16</c>).</summary>
    public static string ToSafetensorsName(TensorDType dtype) => dtype switch
    {
        TensorDType.F32 => "F32",
        TensorDType.F16 => "F16",
        TensorDType.BF16 => "BF16",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown float dtype."),
    };

    /// <summary>Parses a safetensors dtype string; false for anything that is not F32, F16 or BF16.</summary>
    public static bool TryParseSafetensorsName(string name, out TensorDType dtype)
    {
        switch (name)
        {
            case "F32":
                dtype = TensorDType.F32;
                return true;
            case "F16":
                dtype = TensorDType.F16;
                return true;
            case "BF16":
                dtype = TensorDType.BF16;
                return true;
            default:
                dtype = default;
                return false;
        }
    }

    /// <summary>
    /// Decodes <paramref name="source"/> (elements of <paramref name="dtype"/>, little-endian, any
    /// alignment) into float32; <paramref name="destination"/> must hold exactly the element count.
    /// </summary>
    public static void Decode(ReadOnlySpan<byte> source, TensorDType dtype, Span<float> destination)
    {
        if ((long)destination.Length * SizeOf(dtype) != source.Length)
        {
            throw new ArgumentException($"Destination holds {destination.Length} elements but the source has {source.Length} bytes of {dtype}.", nameof(destination));
        }

        // Safetensors is little-endian, as is every platform .NET runs Ken on; reinterpreting is a
        // plain copy there. MemoryMarshal.Cast tolerates the unaligned offsets safetensors allows.
        switch (dtype)
        {
            case TensorDType.F32:
                MemoryMarshal.Cast<byte, float>(source).CopyTo(destination);
                break;
            case TensorDType.F16:
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(source), destination);
                break;
            case TensorDType.BF16:
                BFloat16ToSingle(MemoryMarshal.Cast<byte, ushort>(source), destination);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown float dtype.");
        }
    }

    /// <summary>
    /// Encodes float32 values as <paramref name="dtype"/> (round-to-nearest-even, NaN kept NaN);
    /// <paramref name="destination"/> must be exactly <c>source.Length * SizeOf(dtype)</c> bytes.
    /// </summary>
    public static void Encode(ReadOnlySpan<float> source, TensorDType dtype, Span<byte> destination)
    {
        if ((long)source.Length * SizeOf(dtype) != destination.Length)
        {
            throw new ArgumentException($"Destination has {destination.Length} bytes but {source.Length} elements of {dtype} need {(long)source.Length * SizeOf(dtype)}.", nameof(destination));
        }

        switch (dtype)
        {
            case TensorDType.F32:
                MemoryMarshal.AsBytes(source).CopyTo(destination);
                break;
            case TensorDType.F16:
                TensorPrimitives.ConvertToHalf(source, MemoryMarshal.Cast<byte, Half>(destination));
                break;
            case TensorDType.BF16:
                SingleToBFloat16(source, MemoryMarshal.Cast<byte, ushort>(destination));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown float dtype.");
        }
    }

    /// <summary>Widens bfloat16 bit patterns to float32 (exact: bfloat16 is float32's upper half).</summary>
    public static void BFloat16ToSingle(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        if (source.Length != destination.Length)
        {
            throw new ArgumentException("Source and destination lengths differ.", nameof(destination));
        }

        var bits = MemoryMarshal.Cast<float, uint>(destination);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<ushort>.Count;
            var sourceVectors = MemoryMarshal.Cast<ushort, Vector<ushort>>(source);
            for (int v = 0; v < sourceVectors.Length; v++)
            {
                Vector.Widen(sourceVectors[v], out Vector<uint> low, out Vector<uint> high);
                (low << 16).CopyTo(bits.Slice(i));
                (high << 16).CopyTo(bits.Slice(i + Vector<uint>.Count));
                i += width;
            }
        }

        for (; i < source.Length; i++)
        {
            bits[i] = (uint)source[i] << 16;
        }
    }

    /// <summary>Narrows float32 to bfloat16 bit patterns with round-to-nearest-even; NaN stays a (quiet) NaN.</summary>
    public static void SingleToBFloat16(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        if (source.Length != destination.Length)
        {
            throw new ArgumentException("Source and destination lengths differ.", nameof(destination));
        }

        var bits = MemoryMarshal.Cast<float, uint>(source);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<ushort>.Count;
            int half = Vector<uint>.Count;
            for (; i + width <= bits.Length; i += width)
            {
                var low = Round(new Vector<uint>(bits.Slice(i, half)));
                var high = Round(new Vector<uint>(bits.Slice(i + half, half)));
                Vector.Narrow(low, high).CopyTo(destination.Slice(i));
            }
        }

        for (; i < bits.Length; i++)
        {
            destination[i] = SingleToBFloat16(BitConverter.UInt32BitsToSingle(bits[i]));
        }

        static Vector<uint> Round(Vector<uint> x)
        {
            var one = Vector<uint>.One;
            var rounded = (x + new Vector<uint>(0x7FFF) + ((x >> 16) & one)) >> 16;

            // Rounding could carry a NaN's payload into infinity; force the quiet bit instead.
            var isNaN = Vector.GreaterThan(x & new Vector<uint>(0x7FFF_FFFF), new Vector<uint>(0x7F80_0000));
            var quiet = (x >> 16) | new Vector<uint>(0x0040);
            return Vector.ConditionalSelect(isNaN, quiet, rounded);
        }
    }

    /// <summary>One float32 to bfloat16 bits, round-to-nearest-even, NaN stays a (quiet) NaN.</summary>
    public static ushort SingleToBFloat16(float value)
    {
        uint x = BitConverter.SingleToUInt32Bits(value);
        if ((x & 0x7FFF_FFFF) > 0x7F80_0000)
        {
            return (ushort)((x >> 16) | 0x0040);
        }

        return (ushort)((x + 0x7FFF + ((x >> 16) & 1)) >> 16);
    }

    /// <summary>One bfloat16 bit pattern to float32.</summary>
    public static float BFloat16ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>
    /// Index of the first infinity or NaN among encoded elements of <paramref name="dtype"/>, or -1.
    /// Works on the stored bits, so it also catches values that overflowed when narrowed.
    /// </summary>
    public static int IndexOfNonFinite(ReadOnlySpan<byte> encoded, TensorDType dtype) => dtype switch
    {
        TensorDType.F32 => IndexOfAllOnesExponent(MemoryMarshal.Cast<byte, uint>(encoded), 0x7F80_0000u),
        TensorDType.F16 => IndexOfAllOnesExponent(MemoryMarshal.Cast<byte, ushort>(encoded), (ushort)0x7C00),
        TensorDType.BF16 => IndexOfAllOnesExponent(MemoryMarshal.Cast<byte, ushort>(encoded), (ushort)0x7F80),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown float dtype."),
    };

    /// <summary>Index of the first infinity or NaN, or -1.</summary>
    public static int IndexOfNonFinite(ReadOnlySpan<float> values) => IndexOfNonFinite(MemoryMarshal.AsBytes(values), TensorDType.F32);

    private static int IndexOfAllOnesExponent<T>(ReadOnlySpan<T> bits, T exponentMask)
        where T : unmanaged, IBinaryInteger<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            var mask = new Vector<T>(exponentMask);
            for (; i + Vector<T>.Count <= bits.Length; i += Vector<T>.Count)
            {
                if (Vector.EqualsAny(new Vector<T>(bits.Slice(i)) & mask, mask))
                {
                    break;
                }
            }
        }

        for (; i < bits.Length; i++)
        {
            if ((bits[i] & exponentMask) == exponentMask)
            {
                return i;
            }
        }

        return -1;
    }
}
