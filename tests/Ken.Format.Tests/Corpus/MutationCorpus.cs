using System.Diagnostics;
using System.Globalization;
using Ken.TestSupport;

namespace Ken.Format.Tests.Corpus;

/// <summary>
/// Runs one reader over seeded mutations (<see cref="ByteMutator"/>) of a valid file. Each input is
/// written to a real file and read: the reader must accept it or throw <see cref="KenException"/> with a
/// message; any other exception fails with the seed that reproduces it. Per input it measures the time
/// and the bytes allocated on the reading thread, which must stay within a small multiple of the file's
/// size plus a constant (a reader that trusts a claimed size allocates far more).
/// </summary>
internal sealed class MutationCorpus(string reader, Action<string> read)
{
    /// <summary>Allowed allocation: this many times the input's size (floats decoded from F16 double it)...</summary>
    public const int AllocationFactor = 8;

    /// <summary>...plus this much for the reader's fixed costs (file handles, mapping, dictionaries, the exception).</summary>
    public const long AllocationConstant = 256 * 1024;

    public CorpusResult Run(byte[] valid, int count, int firstSeed)
    {
        using var temp = new TempDirectory();
        var path = temp.File("input.bin");

        // The valid file itself must read (also warms the JIT, so the first timing is a fair one).
        File.WriteAllBytes(path, valid);
        read(path);

        int accepted = 0, rejected = 0;
        double maxMs = 0;
        long maxAllocated = 0, maxOver = long.MinValue;
        for (var seed = firstSeed; seed < firstSeed + count; seed++)
        {
            var input = ByteMutator.Mutate(valid, seed);
            File.WriteAllBytes(path, input);
            var before = GC.GetAllocatedBytesForCurrentThread();
            var start = Stopwatch.GetTimestamp();
            try
            {
                read(path);
                accepted++;
            }
            catch (KenException ex)
            {
                Assert.False(string.IsNullOrWhiteSpace(ex.Message), $"{reader}: seed {seed} gave a KenException without a message");
                rejected++;
            }
            catch (Exception ex)
            {
                Assert.Fail($"{reader}: seed {seed} ({ByteMutator.Kinds[seed % ByteMutator.Kinds.Count]}) threw {ex.GetType().Name}, not KenException: {ex}");
            }

            var ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            maxMs = Math.Max(maxMs, ms);
            maxAllocated = Math.Max(maxAllocated, allocated);
            var over = allocated - ((long)AllocationFactor * input.Length);
            maxOver = Math.Max(maxOver, over);
            Assert.True(
                over <= AllocationConstant,
                $"{reader}: seed {seed} ({ByteMutator.Kinds[seed % ByteMutator.Kinds.Count]}) allocated {allocated} bytes for a {input.Length}-byte input");
        }

        return new CorpusResult(reader, count, accepted, rejected, maxMs, maxAllocated, maxOver);
    }
}

/// <summary>What one corpus run measured.</summary>
internal sealed record CorpusResult(string Reader, int Inputs, int Accepted, int Rejected, double MaxMilliseconds, long MaxAllocatedBytes, long MaxBytesOverFactor)
{
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"corpus {Reader}: {Inputs} inputs, {Accepted} accepted, {Rejected} rejected with KenException, max {MaxMilliseconds:F1} ms per input, max {MaxAllocatedBytes} bytes allocated, max {MaxBytesOverFactor} bytes over {MutationCorpus.AllocationFactor}x the input");
}
