using Ken.Runtime.Patching;

namespace Ken.Runtime.Tests.Patching;

/// <summary>What a switch moves: the 64-byte lines (16 elements, two mask bytes) holding a kept value.</summary>
public sealed class PatchSetTests
{
    [Fact]
    public void A_line_counts_once_however_many_of_its_values_are_kept()
    {
        var mask = new byte[8]; // 64 elements, 4 lines
        mask[0] = 0b0000_0001; // line 0
        mask[1] = 0b1000_0000; // line 0 again
        mask[6] = 0b0001_0000; // line 3

        Assert.Equal(2, PatchSet.TouchedLines(mask));
    }

    [Fact]
    public void A_trailing_half_line_counts_and_an_empty_mask_touches_nothing()
    {
        Assert.Equal(1, PatchSet.TouchedLines([0, 0, 1]));
        Assert.Equal(0, PatchSet.TouchedLines(new byte[10]));
    }

    [Fact]
    public void Touched_bytes_sum_the_lines_of_every_patch()
    {
        var scattered = new PhysicalPatch(0, "scattered", [1, 0, 1, 0, 1, 0, 1, 0], [1f, 2f, 3f, 4f], 64);
        var blocked = new PhysicalPatch(1, "blocked", [0xFF, 0xFF, 0, 0, 0, 0, 0, 0], new float[16], 64);

        var set = new PatchSet([scattered, blocked]);

        // Four kept values on four lines cost as much as sixteen kept values on one line, times four.
        Assert.Equal((4 + 1) * PatchSet.LineBytes, set.TouchedBytes);
    }
}
