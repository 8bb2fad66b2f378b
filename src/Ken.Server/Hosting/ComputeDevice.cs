using System.Globalization;

using Ken.Format;

namespace Ken.Server.Hosting;

/// <summary>Where the backbone runs (<c>--device</c>): the CPU, or CUDA device <see cref="Ordinal"/>.</summary>
public readonly record struct ComputeDevice(bool IsCuda, int Ordinal)
{
    public static ComputeDevice Cpu => new(false, 0);

    /// <summary>Parses <c>cpu</c>, <c>cuda</c> (device 0) or <c>cuda:N</c>.</summary>
    public static ComputeDevice Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var value = text.Trim().ToUpperInvariant();
        if (value == "CPU")
        {
            return Cpu;
        }

        if (value == "CUDA")
        {
            return new ComputeDevice(true, 0);
        }

        if (value.StartsWith("CUDA:", StringComparison.Ordinal)
            && int.TryParse(value.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var ordinal)
            && ordinal is >= 0 and < 1024)
        {
            return new ComputeDevice(true, ordinal);
        }

        throw new KenException($"--device is \"{text}\"; choose cpu (default), cuda (device 0) or cuda:N for CUDA device N.");
    }

    public override string ToString() => IsCuda ? string.Create(CultureInfo.InvariantCulture, $"cuda:{Ordinal}") : "cpu";
}
