using System.Runtime.InteropServices;

namespace Ken.Cuda.Tests.Support;

/// <summary>
/// Native buffers with a guard zone of known bytes before and after each, so a test can prove that
/// code under test wrote nothing outside the buffers it was given. Fresh buffers hold 0xCD garbage.
/// </summary>
public sealed unsafe class GuardedArena : IDisposable
{
    private const int Guard = 256;
    private const byte GuardByte = 0xA5;
    private readonly List<(nint Raw, long Bytes)> blocks = [];

    public nint Allocate(long bytes)
    {
        var raw = (byte*)NativeMemory.AlignedAlloc((nuint)(bytes + (2 * Guard)), Guard);
        new Span<byte>(raw, Guard).Fill(GuardByte);
        new Span<byte>(raw + Guard, (int)bytes).Fill(0xCD);
        new Span<byte>(raw + Guard + bytes, Guard).Fill(GuardByte);
        blocks.Add(((nint)raw, bytes));
        return (nint)(raw + Guard);
    }

    public nint Copy<T>(ReadOnlySpan<T> data)
        where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(data);
        var address = Allocate(Math.Max(bytes.Length, 1));
        bytes.CopyTo(new Span<byte>((void*)address, bytes.Length));
        return address;
    }

    public static Span<T> View<T>(nint address, int count)
        where T : unmanaged => new((void*)address, count);

    /// <summary>Fails the test naming the first buffer whose guard zones changed.</summary>
    public void AssertGuardsIntact()
    {
        foreach (var (raw, bytes) in blocks)
        {
            var before = new ReadOnlySpan<byte>((void*)raw, Guard);
            var after = new ReadOnlySpan<byte>((byte*)raw + Guard + bytes, Guard);
            if (before.ContainsAnyExcept(GuardByte) || after.ContainsAnyExcept(GuardByte))
            {
                Assert.Fail($"a write landed outside the {bytes}-byte buffer at 0x{raw + Guard:x}");
            }
        }
    }

    public void Dispose()
    {
        foreach (var (raw, _) in blocks)
        {
            NativeMemory.AlignedFree((void*)raw);
        }

        blocks.Clear();
    }
}
